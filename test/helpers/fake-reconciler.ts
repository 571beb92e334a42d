/**
 * A Reconciler over a fake systemd (an object with the SystemdManager methods a test needs), for
 * unit tests of what the reconciler decides when systemd's answers come in an awkward order.
 */
import {mkdtemp, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {pino} from 'pino'
import {EventLog} from '../../src/events.js'
import {Journal} from '../../src/logs/journal.js'
import type {DesiredProcess} from '../../src/reconcile/desired.js'
import {Reconciler, type ReconcilerOptions} from '../../src/reconcile/reconciler.js'
import {StateDir} from '../../src/store/state-dir.js'
import type {ObservedUnit, SystemdManager} from '../../src/systemd/manager.js'
import {argvOfResolved} from '../../src/target/argv-ports.js'

export const VERSION = '0123abcd'
export const unitOf = (name: string) => `launcho-${name}-${VERSION}.service`

/** The desired state of a plain process `name` (one replica of VERSION, `sleep infinity`). */
export function desiredOf(name: string): DesiredProcess {
  const spec = {name, command: ['sleep', 'infinity'], env: {}, resources: [], receives: []}
  const unit = unitOf(name)
  return {spec, template: spec, secretDigests: {}, generation: 0, version: VERSION, replicas: 1, maxSurge: 1, unit, units: [unit], argv: {command: argvOfResolved(spec.command)}}
}

/** Its unit as a listing shows it running. */
export function running(name: string, nRestarts = 0): ObservedUnit {
  return {
    name: unitOf(name),
    process: name,
    version: VERSION,
    activeState: 'active',
    subState: 'running',
    mainPid: 42,
    nRestarts,
    result: 'success',
    execMainCode: 0,
    execMainStatus: 0,
    execMainStartUs: Date.now() * 1000,
    stateChangeUs: 0,
    environment: [],
  }
}

export async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** A reconciler driving `systemd`, its state in a fresh directory; `close()` stops it and removes that. */
export async function fakeReconciler(systemd: object, options: Partial<ReconcilerOptions> = {}): Promise<{reconciler: Reconciler; events: EventLog; close: () => Promise<void>}> {
  const dir = await mkdtemp('/var/tmp/launcho-unit-')
  const stateDir = new StateDir(dir, join(dir, 'environments'))
  await stateDir.ensure()
  const events = new EventLog()
  const reconciler = new Reconciler({
    systemd: () => systemd as SystemdManager,
    journal: new Journal(),
    stateDir,
    logger: pino({level: 'silent'}),
    events,
    timings: {restartDelayMs: 100, stopTimeoutMs: 1_000, startTimeoutMs: 1_000},
    resyncMs: 3_600_000,
    portRange: {first: 20_000, last: 20_100},
    drainTimeoutMs: 1_000,
    ...options,
  })
  const close = async () => {
    await reconciler.stop()
    await rm(dir, {recursive: true, force: true})
  }
  return {reconciler, events, close}
}
