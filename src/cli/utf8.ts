import {LaunchoError} from '../errors.js'

const decoder = new TextDecoder('utf-8', {fatal: true})

/** The text of `bytes`, refusing anything that is not UTF-8 instead of replacing it with U+FFFD. */
export function decodeUtf8(bytes: Uint8Array, what: string, hint: string): string {
  try {
    return decoder.decode(bytes)
  } catch {
    throw new LaunchoError('invalid_request', `${what} is not valid UTF-8`, {hint})
  }
}
