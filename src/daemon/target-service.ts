/**
 * Owns the target text and the secrets, and turns them into the reconciler's desired state. Every
 * change is validated in full before anything is written, so a rejected target or secret change
 * leaves both the files and the running processes as they were.
 */
import type {Logger} from 'pino'
import {LaunchoError} from '../errors.js'
import type {EventLog} from '../events.js'
import {desiredStateOf, type DesiredState} from '../reconcile/desired.js'
import type {Reconciler} from '../reconcile/reconciler.js'
import {assertSecretName, type SecretStore} from '../store/secret-store.js'
import type {TargetStore} from '../store/target-store.js'
import type {GenerationStore} from '../store/generation-store.js'
import type {ServiceSpec} from '../target/load.js'
import {loadTargetOffThread} from '../target/load-off-thread.js'
import {changesBetween, type ProcessChange} from './changes.js'

interface Resolved {
  desired: DesiredState
  services: ServiceSpec[]
}

export class TargetService {
  /** Why the stored target cannot be applied (e.g. a secret file restored without a value). */
  private loadError?: LaunchoError
  /**
   * Changes run one at a time: each validates against the state the previous one left, and its
   * write and its hand-over to the reconciler are not interleaved with another change's.
   */
  private queue: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly target: TargetStore,
    private readonly secrets: SecretStore,
    private readonly generations: GenerationStore,
    private readonly reconciler: Reconciler,
    private readonly events: EventLog,
    private readonly logger: Logger,
    private readonly versionKey: Buffer,
  ) {}

  /** Reads the state dir and hands the desired state to the reconciler. */
  async load(): Promise<void> {
    await this.target.load()
    await this.secrets.load()
    await this.generations.load()
    try {
      const {desired, services} = await this.resolve(this.target.current().text, this.secrets.snapshot())
      this.reconciler.setDesired(desired, services)
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
    return this.serially(async () => changesBetween(this.reconciler.getDesired(), (await this.resolve(text, this.secrets.snapshot())).desired))
  }

  setTarget(text: string): Promise<ProcessChange[]> {
    return this.serially(async () => {
      const resolved = await this.resolve(text, this.secrets.snapshot())
      await this.target.save(text)
      return this.apply(resolved, 'target-set', 'target set')
    })
  }

  /** Resource id as written in the target (after substitution) → the processes that list it. */
  resourceUsers(): Map<string, string[]> {
    const users = new Map<string, string[]>()
    for (const [name, process] of this.reconciler.getDesired()) {
      for (const {id} of process.spec.resources) users.set(id, [...(users.get(id) ?? []), name])
    }
    return users
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
    let resolved: Resolved
    try {
      resolved = await this.resolve(this.target.current().text, next)
    } catch (error) {
      if (error instanceof LaunchoError) {
        throw new LaunchoError('conflict', `refused: the target would no longer be valid: ${error.message}`, {
          problems: error.problems,
          hint: 'change the target first (launcho t set) so it no longer uses the secret',
        })
      }
      throw error
    }
    await this.secrets.replace(next)
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
  ): Promise<Resolved> {
    const {template, resolved} = await loadTargetOffThread(text, secrets)
    return {desired: desiredStateOf(template, resolved, secrets, generations, this.versionKey), services: resolved.services}
  }

  private apply({desired, services}: Resolved, kind: 'target-set' | 'secret-changed' | 'restart', what: string): ProcessChange[] {
    const changes = changesBetween(this.reconciler.getDesired(), desired)
    this.loadError = undefined
    this.reconciler.setDesired(desired, services)
    const moved = changes.filter((change) => change.change !== 'unchanged')
    const summary = moved.map((change) => `${change.change} ${change.process}`).join(', ') || 'no process changes'
    this.events.add(kind, `${what}: ${summary}`)
    this.logger.info({changes: moved.map(({process, change}) => ({process, change}))}, what)
    return changes
  }
}
