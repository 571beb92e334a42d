import {readFile} from 'node:fs/promises'
import {LaunchoError} from '../errors.js'

/** Reads a target file, or standard input for `-`. */
export async function readTargetFile(file: string): Promise<string> {
  try {
    if (file === '-') {
      const chunks: Buffer[] = []
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
      return Buffer.concat(chunks).toString('utf8')
    }
    return await readFile(file, 'utf8')
  } catch (error) {
    throw new LaunchoError('invalid_request', `cannot read ${file}: ${(error as Error).message}`, {
      hint: 'pass the path of a target YAML file, or - for standard input',
    })
  }
}
