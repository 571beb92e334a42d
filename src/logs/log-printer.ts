/**
 * The CLI side of `launcho logs`: reads the server's NDJSON stream and prints each line, as text
 * or unchanged NDJSON (--json), waiting for the output to drain so a slow terminal or pipe slows
 * the download instead of filling memory. An `{"error": …}` line from the server is thrown.
 */
import {once} from 'node:events'
import {LaunchoError, type ErrorCode, type Problem} from '../errors.js'
import {LineSplitter} from './line-splitter.js'
import type {LogEntry} from './log-entry.js'
import {formatLogLine} from './log-text.js'

const MAX_LINE_BYTES = 64 * 1024 * 1024

export interface PrintOptions {
  json: boolean
  signal?: AbortSignal
}

/** Prints every line of the stream; returns how many. */
export async function printLogStream(chunks: AsyncIterable<Buffer>, out: NodeJS.WritableStream, options: PrintOptions): Promise<number> {
  const splitter = new LineSplitter(MAX_LINE_BYTES)
  let count = 0
  const print = async (lines: string[]) => {
    let text = ''
    let failure: LaunchoError | undefined
    for (const line of lines) {
      if (line === '') continue
      if (line.startsWith('{"error"')) {
        failure = streamError(line)
        break
      }
      text += options.json ? `${line}\n` : `${formatLogLine(JSON.parse(line) as LogEntry)}\n`
      count++
    }
    if (text !== '' && !out.write(text)) await once(out, 'drain', {signal: options.signal})
    if (failure) throw failure
  }
  for await (const chunk of chunks) await print(splitter.push(chunk))
  if (splitter.end() !== '') {
    throw new LaunchoError('unreachable', 'the log stream ended in the middle of a line', {
      hint: 'the server or the connection went away; run the command again',
    })
  }
  return count
}

function streamError(line: string): LaunchoError {
  const {error} = JSON.parse(line) as {error: {code: ErrorCode; message: string; hint?: string; problems?: Problem[]}}
  return new LaunchoError(error.code, error.message, {hint: error.hint, problems: error.problems})
}
