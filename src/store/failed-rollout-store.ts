/**
 * The versions whose rollout failed, per process, so that a restart of the server neither tries
 * them again nor runs their failed beforeRollout hook a second time: they stay failed until the
 * process's desired version changes. One 0600 JSON file, written atomically, the newest state
 * last when changes come faster than the writes. A hook's output is not kept: only its verdict.
 */
import {readFileIfExists, writeFileAtomic} from './atomic.js'

export interface StoredFailedRollout {
  version: string
  reason: string
  at: number
}

export class FailedRolloutStore {
  private pending?: string
  private writing?: Promise<void>

  constructor(
    private readonly file: string,
    private readonly onWriteError: (error: Error) => void,
  ) {}

  /** What was stored; nothing when the file is missing or damaged (from outside: it is written atomically). */
  async load(): Promise<Map<string, StoredFailedRollout>> {
    const text = await readFileIfExists(this.file)
    const loaded = new Map<string, StoredFailedRollout>()
    if (text === undefined) return loaded
    try {
      const value = JSON.parse(text) as unknown
      if (typeof value !== 'object' || value === null) return loaded
      for (const [name, entry] of Object.entries(value as Record<string, unknown>)) {
        const {version, reason, at} = (entry ?? {}) as Partial<StoredFailedRollout>
        if (typeof version === 'string' && typeof reason === 'string' && typeof at === 'number') loaded.set(name, {version, reason, at})
      }
    } catch {
      // Damaged: the worst that follows is one more try of a failed version.
    }
    return loaded
  }

  /** Stores this state (after the writes before it). */
  save(entries: Iterable<[string, StoredFailedRollout]>): Promise<void> {
    const record: Record<string, StoredFailedRollout> = {}
    for (const [name, {version, reason, at}] of [...entries].sort(([a], [b]) => a.localeCompare(b))) record[name] = {version, reason, at}
    this.pending = `${JSON.stringify(record)}\n`
    return (this.writing ??= this.drain())
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending !== undefined) {
        const text = this.pending
        this.pending = undefined
        await writeFileAtomic(this.file, text, 0o600).catch((error: Error) => this.onWriteError(error))
      }
    } finally {
      this.writing = undefined
    }
  }
}
