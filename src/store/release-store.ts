/**
 * The kept releases: one 0600 JSON file per release in a 0700 directory, each written atomically,
 * holding everything needed to go back to it — the target text, the values of the secrets it used,
 * the full id of each resource prefix, the restart generations and the processes stopped — and how
 * its rollout ended. The newest `keep` are kept; a damaged file is skipped (and said), never fatal.
 */
import {readdir, unlink} from 'node:fs/promises'
import {join} from 'node:path'
import {z} from 'zod'
import {processChangeSchema, type ProcessChange} from '../protocol/changes.js'
import {releaseKindSchema, releaseOutcomeSchema, type ReleaseOutcome} from '../protocol/releases.js'
import {ensurePrivateDir, readFileIfExists, removeStaleTempFiles, writeFileAtomic} from './atomic.js'

const storedReleaseSchema = z.object({
  number: z.number().int().positive(),
  time: z.string(),
  kind: releaseKindSchema,
  rollbackOf: z.number().int().positive().optional(),
  target: z.string(),
  /** Values of the secrets the target used (this file is 0600; never sent by the API). */
  secrets: z.record(z.string(), z.string()),
  /** Each resource prefix of the target → the full id it named. */
  pins: z.record(z.string(), z.string()),
  resources: z.array(z.object({process: z.string(), id: z.string()})),
  generations: z.record(z.string(), z.number().int()),
  versions: z.record(z.string(), z.string()),
  stopped: z.array(z.string()),
  changes: z.array(z.string()),
  /** What its rollout must do before it serves: the changes a follower waits for. */
  follow: z.array(processChangeSchema),
  outcome: releaseOutcomeSchema,
})
export type StoredRelease = z.infer<typeof storedReleaseSchema>
export type ReleaseDraft = Omit<StoredRelease, 'number' | 'outcome'>

export const DEFAULT_KEPT_RELEASES = 20

export class ReleaseStore {
  private releases: StoredRelease[] = []
  /** Per release still rolling out, the processes whose part is not over yet (the watcher's latest judgement). */
  private readonly unsettled = new Map<number, Set<string>>()
  private nextNumber = 1
  private queue: Promise<unknown> = Promise.resolve()

  /** `dir` undefined: in memory only (tests). */
  constructor(
    private readonly dir: string | undefined,
    readonly keep = DEFAULT_KEPT_RELEASES,
    private readonly warn: (message: string) => void = () => {},
  ) {}

  async load(): Promise<void> {
    if (!this.dir) return
    await ensurePrivateDir(this.dir, 0o700)
    await removeStaleTempFiles(this.dir)
    const loaded: StoredRelease[] = []
    for (const name of await readdir(this.dir)) {
      if (!/^\d+\.json$/.test(name)) continue
      const text = await readFileIfExists(join(this.dir, name))
      const parsed = text === undefined ? undefined : parseRelease(text)
      if (parsed && `${parsed.number}.json` === name) loaded.push(parsed)
      else this.warn(`skipped the damaged release file ${join(this.dir, name)}`)
    }
    this.releases = loaded.sort((a, b) => a.number - b.number)
    this.nextNumber = (this.releases.at(-1)?.number ?? 0) + 1
    // A lower `releases` setting than before takes effect at once.
    await this.prune()
  }

  /** Oldest first. */
  list(): readonly StoredRelease[] {
    return this.releases
  }

  get(number: number): StoredRelease | undefined {
    return this.releases.find((release) => release.number === number)
  }

  latest(): StoredRelease | undefined {
    return this.releases.at(-1)
  }

  /** The newest release that ended serving, before `before` when given. */
  lastServing(before = Number.POSITIVE_INFINITY): StoredRelease | undefined {
    return [...this.releases].reverse().find((release) => release.number < before && release.outcome.state === 'serving')
  }

  /** The kept releases whose processes list resource `id`. */
  usersOf(id: string): number[] {
    return this.releases.filter((release) => release.resources.some((resource) => resource.id === id)).map((release) => release.number)
  }

  /**
   * Records a new release, rolling out. The one before it, if still rolling out, is superseded:
   * its processes still on their way are followed by the new one, at the version it wants.
   */
  record(draft: ReleaseDraft, now = new Date()): Promise<StoredRelease> {
    return this.serially(async () => {
      const previous = this.latest()
      let follow = draft.follow
      if (previous?.outcome.state === 'rolling-out') {
        await this.replace({...previous, outcome: {state: 'superseded', at: now.toISOString()}})
        follow = [...follow, ...inherited(previous, this.unsettled.get(previous.number), draft)]
      }
      const release: StoredRelease = {...draft, follow, number: this.nextNumber, outcome: {state: 'rolling-out'}}
      await this.write(release)
      this.nextNumber++
      this.releases.push(release)
      await this.prune()
      return release
    })
  }

  /** Ends a release's rollout; false when it had ended already (an outcome is final). */
  setOutcome(number: number, outcome: ReleaseOutcome): Promise<boolean> {
    return this.serially(async () => {
      const release = this.get(number)
      if (release?.outcome.state !== 'rolling-out') return false
      await this.replace({...release, outcome})
      return true
    })
  }

  private async replace(release: StoredRelease): Promise<void> {
    await this.write(release)
    const at = this.releases.findIndex((one) => one.number === release.number)
    if (at >= 0) this.releases[at] = release
    if (release.outcome.state !== 'rolling-out') this.unsettled.delete(release.number)
  }

  /** Writes happen one at a time, each deciding on what the one before it left. */
  private serially<T>(change: () => Promise<T>): Promise<T> {
    const result = this.queue.then(change)
    this.queue = result.catch(() => undefined)
    return result
  }

  noteUnsettled(number: number, processes: Iterable<string>): void {
    this.unsettled.set(number, new Set(processes))
  }

  private async write(release: StoredRelease): Promise<void> {
    if (this.dir) await writeFileAtomic(join(this.dir, `${release.number}.json`), `${JSON.stringify(release, null, 2)}\n`, 0o600)
  }

  private async prune(): Promise<void> {
    while (this.releases.length > this.keep) {
      const oldest = this.releases[0]!
      if (this.dir) {
        try {
          await unlink(join(this.dir, `${oldest.number}.json`))
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
            this.warn(`could not remove the release file of release ${oldest.number}: ${(error as Error).message}; tried again on the next release`)
            return
          }
        }
      }
      this.releases.shift()
      this.unsettled.delete(oldest.number)
    }
  }
}

/** The superseded release's changes still under way, for processes the new release does not change itself. */
function inherited(previous: StoredRelease, unsettled: Set<string> | undefined, draft: ReleaseDraft): ProcessChange[] {
  const own = new Set(draft.follow.map((change) => change.process))
  return previous.follow
    .filter((change) => !own.has(change.process) && (unsettled === undefined || unsettled.has(change.process)))
    .flatMap((change): ProcessChange[] => {
      if (change.change === 'stop') return draft.versions[change.process] === undefined ? [change] : []
      const to = draft.versions[change.process]
      return to === undefined ? [] : [{...change, to}]
    })
}

function parseRelease(text: string): StoredRelease | undefined {
  try {
    const parsed = storedReleaseSchema.safeParse(JSON.parse(text))
    return parsed.success ? parsed.data : undefined
  } catch {
    return undefined
  }
}
