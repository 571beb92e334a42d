/** Where `secret set` takes the value from: VALUE, --from-file, or standard input (a prompt on a terminal). */
import {readFile} from 'node:fs/promises'
import {LaunchoError} from '../errors.js'
import {decodeUtf8} from './utf8.js'

const BINARY_HINT = 'secret values are text; encode binary data first, e.g. "base64 -w0 FILE | launcho secret set NAME"'

export async function secretValue(name: string, arg: string | undefined, file: string | undefined): Promise<string> {
  if (arg !== undefined && file !== undefined) {
    throw new LaunchoError('invalid_request', 'give the value either as an argument or with --from-file, not both')
  }
  if (arg !== undefined) return arg
  if (file !== undefined) return decodeUtf8(await readFile(file), file, BINARY_HINT)
  if (process.stdin.isTTY) {
    const {readHidden} = await import('./hidden-input.js')
    return readHidden(`Value of ${name} (not shown): `)
  }
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return decodeUtf8(Buffer.concat(chunks), 'standard input', BINARY_HINT)
}
