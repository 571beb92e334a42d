/** Restart generations per process (bumped by `launcho restart`), in one 0600 JSON file. */
import {readFileIfExists, writeFileAtomic} from './atomic.js'

export class GenerationStore {
  private generations = new Map<string, number>()

  constructor(private readonly file: string) {}

  async load(): Promise<void> {
    const text = await readFileIfExists(this.file)
    if (text === undefined) return
    const parsed = JSON.parse(text) as Record<string, unknown>
    this.generations = new Map(
      Object.entries(parsed).filter((entry): entry is [string, number] => Number.isInteger(entry[1])),
    )
  }

  snapshot(): ReadonlyMap<string, number> {
    return new Map(this.generations)
  }

  /** The generations with this process's bumped, without storing anything. */
  bumped(process: string): ReadonlyMap<string, number> {
    const next = new Map(this.generations)
    next.set(process, (next.get(process) ?? 0) + 1)
    return next
  }

  /** Persists `next` (a rollback's, or a bump's), then makes it current. */
  async replace(next: ReadonlyMap<string, number>): Promise<void> {
    await writeFileAtomic(this.file, `${JSON.stringify(Object.fromEntries(next), null, 2)}\n`, 0o600)
    this.generations = new Map(next)
  }

  /** Persists the bumped generation, then makes it current. */
  async bump(process: string): Promise<ReadonlyMap<string, number>> {
    await this.replace(this.bumped(process))
    return this.snapshot()
  }
}
