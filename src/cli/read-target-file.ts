import {readFileSync} from 'node:fs'
import {LaunchoError} from '../errors.js'
import {decodeUtf8} from './utf8.js'

/** Reads a target file, or standard input for `-`. */
export async function readTargetFile(file: string): Promise<string> {
  let bytes: Buffer
  try {
    if (file === '-') {
      const chunks: Buffer[] = []
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
      bytes = Buffer.concat(chunks)
    } else {
      // Synchronous: the CLI waits for it anyway, without the thread pool's round trips.
      bytes = readFileSync(file)
    }
  } catch (error) {
    throw new LaunchoError('invalid_request', `cannot read ${file}: ${(error as Error).message}`, {
      hint: 'pass the path of a target YAML file, or - for standard input',
    })
  }
  // Replacing bad bytes with U+FFFD would store a target that is not the file.
  return decodeUtf8(bytes, file === '-' ? 'standard input' : file, 'save the target file as UTF-8')
}
