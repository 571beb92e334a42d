/**
 * Splits a byte stream into text lines across chunk boundaries (a UTF-8 character or a line may
 * be cut anywhere), holding at most `maxLineBytes` of an unfinished line.
 */
import {StringDecoder} from 'node:string_decoder'
import {LaunchoError} from '../errors.js'

export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8')
  private rest = ''

  constructor(private readonly maxLineBytes: number) {}

  /** The lines this chunk completes, without their newlines. */
  push(chunk: Buffer): string[] {
    const text = this.rest + this.decoder.write(chunk)
    const lines = text.split('\n')
    this.rest = lines.pop()!
    if (this.rest.length > this.maxLineBytes) {
      throw new LaunchoError('internal', `the server sent a line longer than ${this.maxLineBytes} bytes`, {
        hint: 'check that the launcho CLI and server versions match',
      })
    }
    return lines
  }

  /** Whatever unfinished line is left when the stream ends ('' if none). */
  end(): string {
    const rest = this.rest + this.decoder.end()
    this.rest = ''
    return rest
  }
}
