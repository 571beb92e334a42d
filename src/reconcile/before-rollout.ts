/**
 * The beforeRollout hook: once per rollout of a new version of a process, before its first new
 * instance starts (so before any takes traffic), its argv runs as a one-off run of that version
 * (one-off-run.ts) in `launcho-run-<process>-before-rollout-<version>.service`, output to the
 * journal. While it runs the process's reconcile waits (other processes do not); exit 0 lets the
 * rollout go on; anything else fails the rollout of that version terminally (a failed rollout: the
 * old version keeps serving, not retried until the desired version changes), with the hook's last
 * lines of output kept for the deploy that waits on it.
 *
 * Not run: when an instance of the version already exists (adopted, serving, a scale-only change,
 * a crashed instance restarted) or the hook already passed for that version in this server's life.
 * A server that restarts while the hook runs finds its unit by name and waits for it; a hook that
 * ended while no server watched is run again (write hooks that can run twice, as migrations are).
 */
import type {ObservedUnit} from '../systemd/manager.js'
import {beforeRolloutUnitNameOf} from '../systemd/run-unit.js'
import type {ReconcilerContext} from './context.js'
import type {DesiredProcess} from './desired.js'
import {removeRunFiles} from './run-place.js'
import {startOneOffRun, type OneOffRun, type RunDeps, type RunEnd} from './one-off-run.js'
import {after, done, type Outcome} from './work-queue.js'

/** A hook runs at most this long (a migration may be slow; one that hangs must not hold the rollout forever). */
export const BEFORE_ROLLOUT_TIMEOUT_MS = 15 * 60_000
/** How many of the hook's last lines a failed rollout keeps. */
const OUTPUT_LINES = 20
const LOOK_AGAIN_MS = 1_000

interface HookRun {
  version: string
  unit: string
  /** Started by this server (else found running after a restart and watched by name). */
  run?: OneOffRun
}

export class BeforeRolloutHooks {
  private readonly running = new Map<string, HookRun>()
  private readonly passed = new Map<string, string>()

  constructor(
    private readonly ctx: ReconcilerContext,
    private readonly deps: () => RunDeps | undefined,
  ) {}

  /** undefined: the rollout may go on; else what the process's reconcile returns meanwhile. */
  async gate(name: string, wanted: DesiredProcess, units: ObservedUnit[]): Promise<Outcome | undefined> {
    const hook = wanted.spec.hooks?.beforeRollout
    const running = this.running.get(name)
    if (running && running.version !== wanted.version) {
      // Superseded by a newer version: that one's hook runs instead.
      running.run?.stop()
      this.running.delete(name)
    }
    if (!hook || this.passed.get(name) === wanted.version) return undefined
    if (this.ctx.failedRollouts.get(name)?.version === wanted.version) return undefined
    if (units.some((unit) => unit.version === wanted.version)) {
      this.passed.set(name, wanted.version)
      return undefined
    }
    const now = this.running.get(name)
    if (now?.run) return done
    const deps = this.deps()
    if (!deps) return after(LOOK_AGAIN_MS)
    const unit = beforeRolloutUnitNameOf(name, wanted.version)
    const [found] = await deps.systemd.unitsMatching(unit)
    if (found && found.activeState !== 'failed' && found.activeState !== 'inactive') {
      // An earlier server's hook, still running: wait for it by name.
      this.running.set(name, {version: wanted.version, unit})
      return after(LOOK_AGAIN_MS)
    }
    if (now && !now.run) {
      // The watched hook ended: failed (it stays loaded) or succeeded (collected).
      this.running.delete(name)
      await removeRunFiles(unit, deps.stateDir).catch(() => undefined)
      if (found?.activeState === 'failed') {
        await deps.systemd.resetFailed(unit)
        await this.failed(name, wanted.version, unit, 'the beforeRollout hook failed (it ran while the server restarted)')
        return done
      }
      this.passed.set(name, wanted.version)
      return undefined
    }
    if (found) await deps.systemd.resetFailed(unit)
    const run = await startOneOffRun(deps, wanted, {unit, command: hook, timeoutMs: BEFORE_ROLLOUT_TIMEOUT_MS})
    this.running.set(name, {version: wanted.version, unit, run})
    this.ctx.logger.info({process: name, version: wanted.version, unit}, 'running the beforeRollout hook')
    this.ctx.events.add('hook', `running the beforeRollout hook of ${wanted.version} (${unit})`, name)
    void run.ended.then((end) => this.ended(name, wanted.version, unit, end))
    return done
  }

  private async ended(name: string, version: string, unit: string, end: RunEnd): Promise<void> {
    if (this.running.get(name)?.unit !== unit) return
    this.running.delete(name)
    if ('lost' in end) {
      this.ctx.logger.warn({process: name, unit, err: end.lost}, 'lost sight of the beforeRollout hook; running it again')
      this.ctx.wakeAt(Date.now() + LOOK_AGAIN_MS, name)
      return
    }
    const {exit} = end
    if (exit.code === 0) {
      this.passed.set(name, version)
      this.ctx.logger.info({process: name, version, unit}, 'the beforeRollout hook succeeded; rolling out')
      this.ctx.events.add('hook', `the beforeRollout hook of ${version} exited 0; rolling out`, name)
    } else {
      const how = exit.timedOut
        ? `timed out after ${BEFORE_ROLLOUT_TIMEOUT_MS / 60_000} minutes`
        : exit.signal !== undefined
          ? `was killed by signal ${exit.signal}`
          : exit.reason
            ? `could not run: ${exit.reason}`
            : `exited with status ${exit.code}`
      await this.failed(name, version, unit, `the beforeRollout hook ${how}`)
    }
    this.ctx.wakeAt(Date.now(), name)
  }

  private async failed(name: string, version: string, unit: string, reason: string): Promise<void> {
    const output = await this.lastLines(unit)
    this.ctx.failedRollouts.set(name, {version, reason, at: Date.now(), output})
    this.ctx.logger.warn({process: name, version, unit, reason}, 'rollout failed; the previous version keeps serving')
    this.ctx.events.add('rollout-failed', `rollout of ${version} failed (${reason}; journalctl -u ${unit}); the previous version keeps serving`, name)
  }

  /** The hook's own last lines (not systemd's about it); journald may take a moment to have them. */
  private async lastLines(unit: string): Promise<string[]> {
    for (let attempt = 0; attempt < 4; attempt++) {
      const entries = await this.ctx.journal.query({matches: [`_SYSTEMD_UNIT=${unit}`], lines: OUTPUT_LINES}).catch(() => [])
      if (entries.length > 0) return entries.map((entry) => entry.message)
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    return []
  }
}
