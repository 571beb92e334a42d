/**
 * The versions whose rollout failed, per process, so that a restart of the server neither tries
 * them again nor runs their failed beforeRollout hook a second time: they stay failed until the
 * process's desired version changes. One 0600 JSON file, written atomically. Changes that come
 * faster than the writes share one: the state is read when its write begins, so a burst (1000
 * processes failing at once) costs a few writes, not one rendering per change. A hook's output is
 * not kept: only its verdict.
 */
import {byCodeUnits} from '../text-order.js'
import {readFileIfExists, writeFileAtomic} from './atomic.js'

export interface StoredFailedRollout {
  version: string
  reason: string
  at: number
}

export class FailedRolloutStore {
  /** The state to write next (the reconciler's live map), read only when its write begins. */
  private pending?: Iterable<[string, StoredFailedRollout]>
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

  /** Stores this state (after the writes before it); resolves once it is written. */
  save(entries: Iterable<[string, StoredFailedRollout]>): Promise<void> {
    this.pending = entries
    return (this.writing ??= this.drain())
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending !== undefined) {
        const text = render(this.pending)
        this.pending = undefined
        await writeFileAtomic(this.file, text, 0o600).catch((error: Error) => this.onWriteError(error))
      }
    } finally {
      this.writing = undefined
    }
  }
}

function render(entries: Iterable<[string, StoredFailedRollout]>): string {
  const record: Record<string, StoredFailedRollout> = {}
  for (const [name, {version, reason, at}] of [...entries].sort(([a], [b]) => byCodeUnits(a, b))) record[name] = {version, reason, at}
  return `${JSON.stringify(record)}\n`
}
