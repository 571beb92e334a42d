/**
 * Reads one line from the terminal without echoing it (a secret typed at a prompt). Enter ends it,
 * Backspace deletes, Ctrl-C and Ctrl-D abandon it; nothing typed ever reaches the screen.
 */
import {LaunchoError} from '../errors.js'

export function readHidden(prompt: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = ''
    const wasRaw = input.isRaw
    // Raw before the prompt shows: what is typed after seeing it is never echoed by the terminal.
    input.setRawMode(true)
    input.resume()
    output.write(prompt)
    const done = (error?: Error) => {
      input.setRawMode(wasRaw)
      input.pause()
      input.off('data', onData)
      output.write('\n')
      if (error) reject(error)
      else resolve(value)
    }
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return done()
        if (char === '\u0003' || char === '\u0004') {
          return done(new LaunchoError('invalid_request', 'no value given: the prompt was abandoned', {hint: 'nothing was changed'}))
        }
        if (char === '\u007f' || char === '\b') value = [...value].slice(0, -1).join('')
        else if (char >= ' ') value += char
      }
    }
    input.on('data', onData)
  })
}
