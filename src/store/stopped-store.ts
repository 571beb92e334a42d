/**
 * The processes paused with `launcho stop`: they stay stopped across target and secret changes
 * and server restarts until `launcho start`. One 0600 JSON file (a sorted list of names), written
 * atomically; in memory only without a file (tests).
 */
import {readFileIfExists, writeFileAtomic} from './atomic.js'

export class StoppedStore {
  private names: ReadonlySet<string> = new Set()

  constructor(private readonly file?: string) {}

  async load(): Promise<void> {
    if (!this.file) return
    const text = await readFileIfExists(this.file)
    if (text === undefined) return
    try {
      const value = JSON.parse(text) as unknown
      this.names = new Set(Array.isArray(value) ? value.filter((name): name is string => typeof name === 'string') : [])
    } catch {
      // Written atomically, so only damage from outside: nothing is kept stopped rather than refusing to start.
      this.names = new Set()
    }
  }

  snapshot(): ReadonlySet<string> {
    return this.names
  }

  /** Persists `next`, then makes it current. */
  async replace(next: ReadonlySet<string>): Promise<void> {
    if (next.size === this.names.size && [...next].every((name) => this.names.has(name))) return
    if (this.file) await writeFileAtomic(this.file, `${JSON.stringify([...next].sort())}\n`, 0o600)
    this.names = new Set(next)
  }
}
