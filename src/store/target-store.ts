/** The target text exactly as set (placeholders kept), in one 0600 file written atomically. */
import {defaultTargetText} from '../target/default-target.js'
import {readFileIfExists, writeFileAtomic} from './atomic.js'

export class TargetStore {
  private text?: string

  constructor(private readonly file: string) {}

  async load(): Promise<void> {
    this.text = await readFileIfExists(this.file)
  }

  /** The stored text, or the commented default target before any `t set`. */
  current(): {text: string; isDefault: boolean} {
    return this.text === undefined ? {text: defaultTargetText(), isDefault: true} : {text: this.text, isDefault: false}
  }

  async save(text: string): Promise<void> {
    await writeFileAtomic(this.file, text, 0o600)
    this.text = text
  }
}
