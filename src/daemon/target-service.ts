/**
 * Owns the target text and the secrets, and turns them into the reconciler's desired state. Every
 * change is validated in full before anything is written — its format, and what only this server
 * can judge (users, groups, resources, addresses: target/server-rules.ts) — so a rejected target
 * or secret change leaves both the files and the running processes as they were.
 */
import type {Logger} from 'pino'
import {LaunchoError} from '../errors.js'
import type {EventKind, EventLog} from '../events.js'
import type {PortRange} from '../lb/ports.js'
import {desiredStateOf, NO_DEFAULTS, type DesiredState, type ProcessDefaults} from '../reconcile/desired.js'
import type {ExposureMeter} from './exposure-service.js'
import {exposureIssues} from './exposure-gate.js'
import type {Reconciler} from '../reconcile/reconciler.js'
import type {SecretRedactor} from '../secrets/redact.js'
import {ResourcePins, unionOfPins, type Pins} from '../store/resource-pins.js'
import type {ResourceStore} from '../store/resource-store.js'
import {assertSecretName, type SecretStore} from '../store/secret-store.js'
import type {TargetStore} from '../store/target-store.js'
import type {GenerationStore} from '../store/generation-store.js'
import {ReleaseStore, type StoredRelease} from '../store/release-store.js'
import {StoppedStore} from '../store/stopped-store.js'
import type {HistoryResponse, ReleaseDetail} from '../protocol/releases.js'
import {invalidTarget, type LoadedTarget, type ServiceSpec, type Target} from '../target/load.js'
import {loadTargetOffThread} from '../target/load-off-thread.js'
import {checkOnServer, serverProblems, type ServerCheckMode} from '../target/server-rules.js'
import type {FieldIssue} from '../target/rules.js'
import type {HostPort} from '../target/socket-overlap.js'
import type {Applied} from '../protocol/changes.js'
import {changesBetween, markAdoptions, type ProcessChange} from './changes.js'
import {detailOf, historyOf, releaseDraft, type ReleaseMaking} from './release-record.js'
import {emptyReleaseRefused, releaseRefused, releaseToRollBackTo, stoppedRefusal} from './release-rules.js'
import {propertyChanges} from './property-changes.js'
import type {UnitRenderer} from './unit-renderer.js'
import {emptyTargetRefused} from './empty-target.js'
import {resourceInUse, resourceKeptFor, resourceUsesOf, type ResourceUses} from './resource-uses.js'
import {serverFacts} from './server-facts.js'

interface Resolved {
  /** Every process of the target, the stopped ones included (the reconciler gets the others). */
  desired: DesiredState
  services: ServiceSpec[]
  /** Each resource prefix of the target → the full id it names (kept for what runs). */
  pins: Pins
  /** Which processes list each resource, and where. */
  uses: ResourceUses
  /** What it was resolved with: the target text, the secrets and the restart generations. */
  text: string
  secrets: ReadonlyMap<string, string>
  generations: ReadonlyMap<string, number>
  /** The target's named commands: what runs (secrets substituted) and what was written. */
  commands: NamedCommands
}


/** How a change is told and recorded. */
interface ChangeKind extends ReleaseMaking {
  event: EventKind
  /** `target set`, `secret DB_URL changed`, `rollback to release 3` … */
  what: string
}

export interface SetOptions {
  /** A target without processes stops them all: refused unless this is set. */
  allowEmpty?: boolean
}

export interface TargetServiceOptions {
  /** Resource ids of a target must name stored resources; without a store they are taken as written. */
  resources?: ResourceStore
  /** Where the resolved prefixes are kept (in memory when not given). */
  pins?: ResourcePins
  /** Where the API listens, once it does. */
  api?: () => HostPort | undefined
  portRange?: PortRange
  /** Kept up to date with the secrets, for the events and the log. */
  redactor?: SecretRedactor
  /** Where releases are kept (in memory when not given). */
  releases?: ReleaseStore
  /** Where the processes paused with `launcho stop` are kept (in memory when not given). */
  stopped?: StoppedStore
  /** Units in the balancer now: a change to a version they run is an adoption. */
  servingUnits?: () => ReadonlySet<string>
  /** The server's `sandbox` and `maxExposure` for processes that do not say. */
  defaults?: ProcessDefaults
  /** Measures each new version's exposure (shown in status and changes, gated by maxExposure). */
  exposure?: ExposureMeter
  /** Renders units as the reconciler starts them: for property-level changes, `t render` and export. */
  renderer?: UnitRenderer
}

export class TargetService {
  /** Why the stored target cannot be applied (e.g. a secret file restored without a value). */
  private loadError?: LaunchoError
  /**
   * Changes run one at a time: each validates against the state the previous one left, and its
   * write and its hand-over to the reconciler are not interleaved with another change's.
   */
  private queue: Promise<unknown> = Promise.resolve()
  private readonly pins: ResourcePins
  readonly releases: ReleaseStore
  private readonly stopped: StoppedStore
  /** The target applied last, resolved (undefined while the stored one cannot be applied). */
  private current?: Resolved
  /** Of the target applied last. */
  private uses: ResourceUses = new Map()
  /** Brings the latest release's verdict up to date (release-watch.ts); set by the daemon. */
  private judgeLatestRelease: () => Promise<void> = async () => {}

  constructor(
    private readonly target: TargetStore,
    private readonly secrets: SecretStore,
    private readonly generations: GenerationStore,
    private readonly reconciler: Reconciler,
    private readonly events: EventLog,
    private readonly logger: Logger,
    private readonly versionKey: Buffer,
    private readonly options: TargetServiceOptions = {},
  ) {
    this.pins = options.pins ?? new ResourcePins()
    this.releases = options.releases ?? new ReleaseStore(undefined)
    this.stopped = options.stopped ?? new StoppedStore()
  }

  /** Reads the state dir and hands the desired state to the reconciler. */
  async load(): Promise<void> {
    await this.target.load()
    await this.secrets.load()
    await this.generations.load()
    await this.pins.load()
    await this.releases.load()
    await this.stopped.load()
    this.options.redactor?.update(this.secrets.snapshot())
    try {
      // Accepted when it was set: only the resource prefixes are looked up again (as pinned).
      const resolved = await this.resolve(this.target.current().text, this.secrets.snapshot(), undefined, 'restore')
      // A target stored before pins existed gets them now, before an upload can share a prefix.
      await this.pins.save(unionOfPins(this.pins.snapshot(), resolved.pins)).catch((error: Error) => {
        this.logger.warn({err: error.message}, 'could not record the resolved resource prefixes; they are resolved again at the next start')
      })
      this.reconciler.setDesired(running(resolved.desired, this.stopped.snapshot()), resolved.services, this.stopped.snapshot())
      this.uses = resolved.uses
      this.current = resolved
    } catch (error) {
      // Never stop what runs because the stored target cannot be read back: leave it alone.
      this.loadError = error as LaunchoError
      this.logger.error({err: (error as Error).message}, 'the stored target cannot be applied; processes are left as they run')
    }
  }

  problem(): LaunchoError | undefined {
    return this.loadError
  }

  currentText(): {text: string; isDefault: boolean} {
    return this.target.current()
  }

  /** What setting `text` would change, without changing anything. */
  preview(text: string): Promise<ProcessChange[]> {
    return this.serially(async () => {
      const resolved = await this.resolve(text, this.secrets.snapshot())
      return this.changesTo(resolved, this.stoppedIn(resolved))
    })
  }

  /** The desired state of `text` (validated as `t diff` does), or the current one. */
  desiredOf(text: string | undefined): Promise<DesiredState> {
    if (text === undefined) return Promise.resolve(this.reconciler.getDesired())
    return this.serially(async () => (await this.resolve(text, this.secrets.snapshot())).desired)
  }

  /** Each replace with what it changes in the unit, when a renderer is given. */
  private withProperties(changes: ProcessChange[], before: DesiredState, after: DesiredState): ProcessChange[] {
    const renderer = this.options.renderer
    if (!renderer) return changes
    return changes.map((change) => {
      const old = before.get(change.process)
      const next = after.get(change.process)
      if (change.change !== 'replace' || !old || !next) return change
      try {
        const [a] = renderer.unitsOf(old, true, {ports: false})
        const [b] = renderer.unitsOf(next, true, {ports: false})
        const properties = propertyChanges({rendered: a!, version: old.version}, {rendered: b!, version: next.version})
        return properties.length > 0 ? {...change, properties} : change
      } catch (error) {
        // A unit that has no unit-file form still starts over D-Bus: its change is told without the detail.
        this.logger.warn({process: change.process, err: (error as Error).message}, 'could not render the unit change')
        return change
      }
    })
  }

  setTarget(text: string, options: SetOptions = {}): Promise<Applied> {
    return this.serially(async () => {
      // The text that is applied, with the same secrets and restarts: nothing can change, and a
      // 1000-process target need not be parsed and checked again to say so.
      if (this.isApplied(text)) return this.unchanged({release: 'target-set', event: 'target-set', what: 'target set'}, this.current!)
      const resolved = await this.resolve(text, this.secrets.snapshot())
      if (resolved.desired.size === 0 && !options.allowEmpty) throw emptyTargetRefused(text, [...this.reconciler.getDesired().keys()])
      await this.commit(resolved, () => this.target.save(text))
      return this.apply(resolved, {release: 'target-set', event: 'target-set', what: 'target set'})
    })
  }

  /** Full resource id → the processes of the target that list it (by that id or a prefix of it). */
  resourceUsers(): Map<string, string[]> {
    return new Map([...this.uses].map(([id, uses]) => [id, uses.map((use) => use.process)]))
  }

  /**
   * Runs `remove` (of the stored resource `id`) unless the target uses it, refused with `conflict`
   * naming each process and line that lists it. In turn with target changes: a `t set` naming the
   * resource cannot be validated against the store while it is being removed.
   */
  removeResource(id: string, remove: () => Promise<void>): Promise<void> {
    return this.serially(async () => {
      const uses = this.uses.get(id) ?? []
      if (uses.length > 0) throw resourceInUse(id, uses)
      const kept = this.releases.usersOf(id)
      if (kept.length > 0) throw resourceKeptFor(id, kept, this.releases.keep)
      await remove()
    })
  }

  secretNames(): string[] {
    return this.secrets.names()
  }

  secretValue(name: string): string {
    assertSecretName(name)
    const value = this.secrets.get(name)
    if (value === undefined) {
      throw new LaunchoError('not_found', `secret "${name}" is not set`, {hint: `launcho secret set ${name} VALUE`})
    }
    return value
  }

  /** Sets (string) or removes (undefined) secrets; refused when the target would stop validating. */
  changeSecrets(changes: Record<string, string | undefined>): Promise<Applied> {
    return this.serially(() => this.changeSecretsNow(changes))
  }

  private async changeSecretsNow(changes: Record<string, string | undefined>): Promise<Applied> {
    for (const name of Object.keys(changes)) assertSecretName(name)
    for (const [name, value] of Object.entries(changes)) {
      if (value === undefined && !this.secrets.has(name)) {
        throw new LaunchoError('not_found', `secret "${name}" is not set`, {hint: 'launcho secret ls lists the secrets'})
      }
    }
    const next = this.secrets.preview(changes)
    // From now on: a value sent is redacted even if the change is refused.
    this.options.redactor?.update(next)
    let resolved: Resolved
    try {
      resolved = await this.resolve(this.target.current().text, next)
    } catch (error) {
      this.options.redactor?.update(this.secrets.snapshot())
      if (error instanceof LaunchoError) {
        throw new LaunchoError('conflict', `refused: the target would no longer be valid: ${error.message}`, {
          problems: error.problems,
          hint: 'change the target first (launcho t set) so it no longer uses the secret',
        })
      }
      throw error
    }
    await this.commit(resolved, () => this.secrets.replace(next))
    const names = Object.keys(changes).sort()
    const lines = names.map((name) => `secret ${name}${changes[name] === undefined ? ' removed' : ''}`)
    return this.apply(resolved, {release: 'secret', event: 'secret-changed', what: `secret ${names.join(', ')} changed`, lines})
  }

  /** Replaces every instance of a process with a fresh one, the way an upgrade does. */
  restart(process: string): Promise<Applied> {
    return this.serially(async () => {
      if (this.stopped.snapshot().has(process) && this.current?.desired.has(process)) throw stoppedRefusal(process, 'restart')
      if (!this.reconciler.getDesired().has(process)) {
        throw new LaunchoError('not_found', `process "${process}" is not in the target`, {hint: 'launcho status lists the processes'})
      }
      const generations = this.generations.bumped(process)
      const resolved = await this.resolve(this.target.current().text, this.secrets.snapshot(), generations)
      await this.commit(resolved, () => this.generations.replace(generations))
      return this.apply(resolved, {release: 'restart', event: 'restart', what: `restart of ${process}`})
    })
  }

  /**
   * Goes back to release `number` (default: the newest before the latest that ended serving): its
   * target, the values its secrets had, its resources and restart generations, rolled out like any
   * change and recorded as a new release. Processes stopped now stay stopped.
   */
  rollback(number?: number): Promise<Applied> {
    return this.serially(async () => {
      const release = releaseToRollBackTo(this.releases, number)
      const resolved = await this.resolveRelease(release)
      const now = [...this.reconciler.getDesired().keys()]
      if (resolved.desired.size === 0 && now.length > 0) throw emptyReleaseRefused(release.number, now)
      await this.commit(resolved, async () => {
        await this.secrets.replace(new Map(resolved.secrets))
        await this.generations.replace(resolved.generations)
        await this.target.save(release.target)
      })
      return this.apply(resolved, {release: 'rollback', event: 'rollback', what: `rollback to release ${release.number}`, lines: [`rollback to release ${release.number}`], rollbackOf: release.number})
    })
  }

  history(): HistoryResponse {
    return historyOf(this.releases.list(), this.releases.keep)
  }

  /** One release in full: secret names, never values. */
  release(number: number): ReleaseDetail {
    const release = this.releases.get(number)
    if (!release) throw releaseRefused(this.releases, number)
    return detailOf(release)
  }

  /** What `rollback number` would change, without changing anything. */
  previewRelease(number: number): Promise<ProcessChange[]> {
    return this.serially(async () => {
      const release = this.releases.get(number)
      if (!release) throw releaseRefused(this.releases, number)
      const resolved = await this.resolveRelease(release)
      return this.changesTo(resolved, this.stoppedIn(resolved))
    })
  }

  /** Stops a process and keeps it stopped (target and secret changes, restarts) until `start`. */
  stop(process: string): Promise<Applied> {
    return this.serially(async () => {
      const current = this.appliedTarget(process)
      if (this.stopped.snapshot().has(process)) return {changes: []}
      const next = new Set([...this.stopped.snapshot(), process])
      return this.apply(current, {release: 'stop', event: 'stop', what: `stop of ${process}`}, next)
    })
  }

  /** Runs a process stopped with `stop` again. */
  start(process: string): Promise<Applied> {
    return this.serially(async () => {
      const current = this.appliedTarget(process)
      if (!this.stopped.snapshot().has(process)) return {changes: []}
      const next = new Set([...this.stopped.snapshot()].filter((name) => name !== process))
      return this.apply(current, {release: 'start', event: 'start', what: `start of ${process}`}, next)
    })
  }

  /** The processes of the target stopped with `launcho stop`. */
  stoppedProcesses(): string[] {
    const desired = this.current?.desired
    return [...this.stopped.snapshot()].filter((name) => desired?.has(name)).sort()
  }

  /** The versions of the stopped processes, for status. */
  stoppedVersion(process: string): string | undefined {
    return this.stopped.snapshot().has(process) ? this.current?.desired.get(process)?.version : undefined
  }

  private appliedTarget(process: string): Resolved {
    const current = this.current
    if (!current) {
      throw new LaunchoError('conflict', `the stored target cannot be applied${this.loadError ? `: ${this.loadError.message}` : ''}`, {
        hint: 'set a target (launcho t set) first',
      })
    }
    if (!current.desired.has(process)) {
      throw new LaunchoError('not_found', `process "${process}" is not in the target`, {hint: 'launcho status lists the processes'})
    }
    return current
  }

  private serially<T>(change: () => Promise<T>): Promise<T> {
    const result = this.queue.then(change)
    this.queue = result.catch(() => undefined)
    return result
  }

  private async resolve(
    text: string,
    secrets: ReadonlyMap<string, string>,
    generations: ReadonlyMap<string, number> = this.generations.snapshot(),
    mode: ServerCheckMode = 'set',
    pins: Pins = this.pins.snapshot(),
  ): Promise<Resolved> {
    const loaded = await loadTargetOffThread(text, secrets)
    const {resolved, issues} = await checkOnServer(loaded, this.facts(pins), mode)
    if (issues.length > 0) throw invalidTarget(serverProblems(loaded, issues))
    const desired = desiredStateOf(loaded.template, resolved, secrets, generations, this.versionKey, this.options.defaults ?? NO_DEFAULTS)
    const exposureProblems = await this.measure(desired, loaded.template, mode)
    if (exposureProblems.length > 0) throw invalidTarget(serverProblems(loaded, exposureProblems))
    return {
      desired,
      services: resolved.services,
      pins: pinsOf(loaded, resolved),
      uses: resourceUsesOf(loaded, resolved),
      text,
      secrets,
      generations,
      commands: namedCommandsOf(loaded.template, loaded.resolved),
    }
  }

  /** What `launcho run` may run now: the current target's processes (stopped ones too) and named commands. */
  runnable(): {desired: DesiredState; commands: NamedCommands} | undefined {
    return this.current ? {desired: this.current.desired, commands: this.current.commands} : undefined
  }

  /** A release's target with the values its secrets had (the others as they are now) and its resources. */
  private async resolveRelease(release: StoredRelease): Promise<Resolved> {
    const secrets = new Map([...this.secrets.snapshot(), ...Object.entries(release.secrets)])
    // From now on: a restored value is redacted even if going back is refused.
    this.options.redactor?.update(secrets)
    try {
      const pins = unionOfPins(this.pins.snapshot(), new Map(Object.entries(release.pins)))
      return await this.resolve(release.target, secrets, new Map(Object.entries(release.generations)), 'set', pins)
    } catch (error) {
      this.options.redactor?.update(this.secrets.snapshot())
      if (error instanceof LaunchoError) {
        throw new LaunchoError(error.code, `release ${release.number} can no longer be rolled out: ${error.message}`, {problems: error.problems, hint: error.hint})
      }
      throw error
    }
  }

  /**
   * Gives each process its exposure: kept from the running desired state for an unchanged version,
   * else measured (at `set`; a restored target is measured in the background, as it was accepted
   * before). Returns the refusals of maxExposure.
   */
  private async measure(desired: DesiredState, template: Target, mode: ServerCheckMode): Promise<FieldIssue[]> {
    const meter = this.options.exposure
    if (!meter) return []
    const current = this.reconciler.getDesired()
    const unmeasured = [...desired.values()].filter((process) => {
      const running = current.get(process.spec.name)
      if (running?.version === process.version && running.exposure) process.exposure = running.exposure
      return process.exposure === undefined
    })
    if (unmeasured.length === 0 && ![...desired.values()].some((process) => process.maxExposure !== undefined)) return []
    if (mode === 'restore') {
      void meter
        .of(unmeasured)
        .then((scored) => unmeasured.forEach((process) => (process.exposure = scored.get(process.spec.name) ?? process.exposure)))
        .catch((error: Error) => this.logger.warn({err: error.message}, 'could not measure the exposure of the restored processes'))
      return []
    }
    let failure: Error | undefined
    try {
      const scored = await meter.of(unmeasured)
      for (const process of unmeasured) process.exposure = scored.get(process.spec.name)
    } catch (error) {
      failure = error as Error
      this.logger.warn({err: failure.message}, 'could not measure exposure')
    }
    return exposureIssues(desired, template, failure)
  }

  private facts(pins: Pins) {
    const {resources, api, portRange} = this.options
    const listening = api?.()
    return serverFacts({
      pins,
      ...(resources ? {resources} : {}),
      ...(listening ? {api: listening} : {}),
      ...(portRange ? {portRange} : {}),
    })
  }

  /**
   * Writes a change (`write`) with the pins it needs. The pins file holds both the old and the new
   * pins while the change is written, so a crash in between leaves pins for whichever is stored.
   */
  private async commit(resolved: Resolved, write: () => Promise<void>): Promise<void> {
    await this.pins.save(unionOfPins(this.pins.snapshot(), resolved.pins))
    await write()
    await this.pins.save(resolved.pins)
    this.options.redactor?.update(this.secrets.snapshot())
  }

  /** The target applied last with the secrets and restarts as they are now: setting its text again changes nothing. */
  private isApplied(text: string): boolean {
    const current = this.current
    return (
      current !== undefined &&
      current.desired.size > 0 &&
      current.text === text &&
      sameEntries(current.secrets, this.secrets.snapshot()) &&
      sameEntries(current.generations, this.generations.snapshot())
    )
  }

  /** The answer to a change that changes nothing, told like any other. */
  private unchanged(kind: ChangeKind, resolved: Resolved): Applied {
    const changes = this.changesTo(resolved, this.stoppedIn(resolved))
    this.events.add(kind.event, `${kind.what}: no process changes`)
    this.logger.info({changes: []}, kind.what)
    return {changes}
  }

  /** The processes that stay stopped with `resolved`: those still in its target. */
  private stoppedIn(resolved: Resolved): ReadonlySet<string> {
    return new Set([...this.stopped.snapshot()].filter((name) => resolved.desired.has(name)))
  }

  /** What going to `resolved` (with `stopped` kept stopped) does to each process, from what runs now. */
  private changesTo(resolved: Resolved, stopped: ReadonlySet<string>): ProcessChange[] {
    const before = this.reconciler.getDesired()
    const after = running(resolved.desired, stopped)
    const wasStopped = (name: string) => !before.has(name) && this.current?.desired.has(name) === true && this.stopped.snapshot().has(name)
    const changes = markAdoptions(this.withProperties(changesBetween(before, after), before, after), after, this.options.servingUnits?.() ?? new Set())
    const explained = changes.map((change): ProcessChange => {
      if (change.change === 'stop' && stopped.has(change.process)) return {...change, reasons: ['launcho stop'], stopped: true}
      if (change.change === 'start' && wasStopped(change.process)) return {...change, reasons: ['launcho start']}
      return change
    })
    // Stopped and staying so: told, so that a `t set` does not look as if it forgot them.
    for (const name of [...stopped].sort()) {
      if (before.has(name) || !resolved.desired.has(name)) continue
      explained.push({process: name, change: 'unchanged', to: resolved.desired.get(name)!.version, stopped: true, reasons: ['stopped (launcho start runs it)']})
    }
    return explained
  }

  /**
   * Hands a stored change to the reconciler and records it as a release when it changes what runs.
   * `stopped`: the processes kept stopped from now on (default: as they are, less those no longer in the target).
   */
  private async apply(resolved: Resolved, kind: ChangeKind, stopped?: ReadonlySet<string>): Promise<Applied> {
    const keptStopped = stopped ?? this.stoppedIn(resolved)
    // Judged against the processes stopped until now, then the new set is stored (before anything runs differently).
    const changes = this.changesTo(resolved, keptStopped)
    await this.stopped.replace(keptStopped)
    const moved = changes.filter((change) => change.change !== 'unchanged')
    const release = moved.length > 0 ? await this.record(resolved, kind, changes, keptStopped) : undefined
    this.loadError = undefined
    this.reconciler.setDesired(running(resolved.desired, keptStopped), resolved.services, keptStopped)
    this.uses = resolved.uses
    this.current = resolved
    const summary = moved.map((change) => `${change.change} ${change.process}`).join(', ') || 'no process changes'
    this.events.add(kind.event, `${kind.what}: ${summary}${release ? ` (release ${release})` : ''}`)
    this.logger.info({changes: moved.map(({process, change}) => ({process, change})), release}, kind.what)
    return {changes, ...(release ? {release} : {})}
  }

  /** How the latest release's verdict is brought up to date before a newer one is recorded. */
  judgeReleasesWith(judge: () => Promise<void>): void {
    this.judgeLatestRelease = judge
  }

  /** The release's number; a release that cannot be written is said, and the change goes on. */
  private async record(resolved: Resolved, kind: ChangeKind, changes: ProcessChange[], stopped: ReadonlySet<string>): Promise<number | undefined> {
    // A release that already serves is judged so before the new one supersedes it: a deploy that
    // saw it serving can be followed at once by the next (the watch looks up to a second later).
    await this.judgeLatestRelease().catch((error: Error) => this.logger.warn({err: error.message}, 'could not judge the latest release before recording the next'))
    try {
      const release = await this.releases.record(releaseDraft(resolved, kind, changes, stopped))
      return release.number
    } catch (error) {
      this.logger.error({err: (error as Error).message}, 'could not record the release; the change is applied without one')
      this.events.add('error', `could not record a release for this change: ${(error as Error).message}`)
      return undefined
    }
  }
}

/** Named commands by name: `command` with secrets substituted, `written` as in the target. */
export type NamedCommands = ReadonlyMap<string, {process: string; command: string[]; written: string[]}>

function namedCommandsOf(template: Target, resolved: Target): NamedCommands {
  return new Map(
    Object.entries(resolved.commands ?? {}).map(([name, {process, command}]) => [name, {process, command, written: template.commands?.[name]?.command ?? command}]),
  )
}

/** The processes that run: the target's, less the stopped ones. */
function running(desired: DesiredState, stopped: ReadonlySet<string>): DesiredState {
  if (stopped.size === 0) return desired
  return new Map([...desired].filter(([name]) => !stopped.has(name)))
}

function sameEntries<V>(a: ReadonlyMap<string, V>, b: ReadonlyMap<string, V>): boolean {
  if (a.size !== b.size) return false
  for (const [key, value] of a) if (b.get(key) !== value) return false
  return true
}

/** Each prefix (shorter than a full id) of the target → the full id it was resolved to. */
function pinsOf(loaded: LoadedTarget, resolved: Target): Pins {
  const pins = new Map<string, string>()
  loaded.resolved.processes.forEach((process, i) => {
    process.resources.forEach((resource, j) => {
      const full = resolved.processes[i]!.resources[j]!.id
      if (full !== resource.id) pins.set(resource.id, full)
    })
  })
  return pins
}
