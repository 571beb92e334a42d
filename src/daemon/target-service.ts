/**
 * Owns the target text and the secrets, and turns them into the reconciler's desired state. Every
 * change is validated in full before anything is written — its format, and what only this server
 * can judge (users, groups, resources, addresses: target/server-rules.ts) — so a rejected target
 * or secret change leaves both the files and the running processes as they were.
 */
import type {Logger} from 'pino'
import {LaunchoError} from '../errors.js'
import type {EventLog} from '../events.js'
import type {PortRange} from '../lb/ports.js'
import {desiredStateOf, type DesiredState} from '../reconcile/desired.js'
import type {Reconciler} from '../reconcile/reconciler.js'
import type {SecretRedactor} from '../secrets/redact.js'
import {ResourcePins, unionOfPins, type Pins} from '../store/resource-pins.js'
import type {ResourceStore} from '../store/resource-store.js'
import {assertSecretName, type SecretStore} from '../store/secret-store.js'
import type {TargetStore} from '../store/target-store.js'
import type {GenerationStore} from '../store/generation-store.js'
import {invalidTarget, type LoadedTarget, type ServiceSpec, type Target} from '../target/load.js'
import {loadTargetOffThread} from '../target/load-off-thread.js'
import {checkOnServer, serverProblems, type ServerCheckMode} from '../target/server-rules.js'
import type {HostPort} from '../target/socket-overlap.js'
import {changesBetween, type ProcessChange} from './changes.js'
import {propertyChanges} from './property-changes.js'
import type {UnitRenderer} from './unit-renderer.js'
import {emptyTargetRefused} from './empty-target.js'
import {resourceInUse, resourceUsesOf, type ResourceUses} from './resource-uses.js'
import {serverFacts} from './server-facts.js'

interface Resolved {
  desired: DesiredState
  services: ServiceSpec[]
  /** Each resource prefix of the target → the full id it names (kept for what runs). */
  pins: Pins
  /** Which processes list each resource, and where. */
  uses: ResourceUses
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
  /** Of the target applied last. */
  private uses: ResourceUses = new Map()

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
  }

  /** Reads the state dir and hands the desired state to the reconciler. */
  async load(): Promise<void> {
    await this.target.load()
    await this.secrets.load()
    await this.generations.load()
    await this.pins.load()
    this.options.redactor?.update(this.secrets.snapshot())
    try {
      // Accepted when it was set: only the resource prefixes are looked up again (as pinned).
      const resolved = await this.resolve(this.target.current().text, this.secrets.snapshot(), undefined, 'restore')
      // A target stored before pins existed gets them now, before an upload can share a prefix.
      await this.pins.save(unionOfPins(this.pins.snapshot(), resolved.pins)).catch((error: Error) => {
        this.logger.warn({err: error.message}, 'could not record the resolved resource prefixes; they are resolved again at the next start')
      })
      this.reconciler.setDesired(resolved.desired, resolved.services)
      this.uses = resolved.uses
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
      const before = this.reconciler.getDesired()
      const after = (await this.resolve(text, this.secrets.snapshot())).desired
      return this.withProperties(changesBetween(before, after), before, after)
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

  setTarget(text: string, options: SetOptions = {}): Promise<ProcessChange[]> {
    return this.serially(async () => {
      const resolved = await this.resolve(text, this.secrets.snapshot())
      if (resolved.desired.size === 0 && !options.allowEmpty) throw emptyTargetRefused(text, [...this.reconciler.getDesired().keys()])
      await this.commit(resolved, () => this.target.save(text))
      return this.apply(resolved, 'target-set', 'target set')
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
  changeSecrets(changes: Record<string, string | undefined>): Promise<ProcessChange[]> {
    return this.serially(() => this.changeSecretsNow(changes))
  }

  private async changeSecretsNow(changes: Record<string, string | undefined>): Promise<ProcessChange[]> {
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
    const names = Object.keys(changes).sort().join(', ')
    return this.apply(resolved, 'secret-changed', `secret ${names} changed`)
  }

  /** Replaces every instance of a process with a fresh one, the way an upgrade does. */
  restart(process: string): Promise<ProcessChange[]> {
    return this.serially(async () => {
      if (!this.reconciler.getDesired().has(process)) {
        throw new LaunchoError('not_found', `process "${process}" is not in the target`, {hint: 'launcho status lists the processes'})
      }
      const generations = await this.generations.bump(process)
      const resolved = await this.resolve(this.target.current().text, this.secrets.snapshot(), generations)
      await this.commit(resolved, async () => {})
      return this.apply(resolved, 'restart', `restart of ${process}`)
    })
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
  ): Promise<Resolved> {
    const loaded = await loadTargetOffThread(text, secrets)
    const {resolved, issues} = await checkOnServer(loaded, this.facts(), mode)
    if (issues.length > 0) throw invalidTarget(serverProblems(loaded, issues))
    return {
      desired: desiredStateOf(loaded.template, resolved, secrets, generations, this.versionKey),
      services: resolved.services,
      pins: pinsOf(loaded, resolved),
      uses: resourceUsesOf(loaded, resolved),
    }
  }

  private facts() {
    const {resources, api, portRange} = this.options
    const listening = api?.()
    return serverFacts({
      pins: this.pins.snapshot(),
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

  private apply({desired, services, uses}: Resolved, kind: 'target-set' | 'secret-changed' | 'restart', what: string): ProcessChange[] {
    const changes = this.withProperties(changesBetween(this.reconciler.getDesired(), desired), this.reconciler.getDesired(), desired)
    this.loadError = undefined
    this.reconciler.setDesired(desired, services)
    this.uses = uses
    const moved = changes.filter((change) => change.change !== 'unchanged')
    const summary = moved.map((change) => `${change.change} ${change.process}`).join(', ') || 'no process changes'
    this.events.add(kind, `${what}: ${summary}`)
    this.logger.info({changes: moved.map(({process, change}) => ({process, change}))}, what)
    return changes
  }
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
