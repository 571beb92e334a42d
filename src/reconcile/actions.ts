/**
 * Carries out the rollout state machine's decisions against systemd, the balancer and the health
 * monitor. Each method is one action for one process; the reconciler runs them one at a time per
 * process and never waits for one process on behalf of another.
 */
import type {Action} from '../rollout/rollout.js'
import type {StartResult, SystemdManager} from '../systemd/manager.js'
import {portVariable} from '../lb/ports.js'
import {prepareUnitFiles} from './instance-files.js'
import {isDesiredUnit, unitSpecOf, type DesiredProcess} from './desired.js'
import {hasDynamicWorkDir, removeDynamicWorkDir} from './dynamic-user.js'
import {failureReasonOf} from './failure-reason.js'
import {beforeStopFailure, killedAtStop} from './stop-outcome.js'
import {removeWorkDir} from './work-dir.js'
import {removeEnvironmentFile} from './leftovers.js'
import {removeCredentialFiles} from './credential-files.js'
import {startJobMs, stopJobMs} from '../systemd/unit-spec.js'
import type {ReconcilerContext} from './context.js'

export type RunnableAction = Exclude<Action, {kind: 'none' | 'wait'}>

/** Takes instances out of the balancer: draining when the process receives services; true if so. */
function retireUnits(ctx: ReconcilerContext, name: string, units: string[], now: number): boolean {
  const hasServices = (ctx.desired.get(name)?.spec.receives.length ?? 1) > 0
  for (const unit of units) {
    const instance = ctx.registry.get(unit)
    if (hasServices) instance?.drain(now, ctx.drainTimeoutMs)
    else instance?.retire()
    // Its health no longer decides anything; its checks would only keep connections open.
    unwatchHealth(ctx, unit)
  }
  return hasServices
}

export async function perform(ctx: ReconcilerContext, systemd: SystemdManager, name: string, action: RunnableAction): Promise<void> {
  const {events, logger, registry} = ctx
  const now = Date.now()
  switch (action.kind) {
    case 'start':
      return start(ctx, systemd, name, action.process, action.unit)
    case 'serve': {
      registry.get(action.unit)?.serve()
      const draining = action.drain ? retireUnits(ctx, name, action.drain, now) : false
      await ctx.syncBalancer()
      logger.info({process: name, unit: action.unit, draining: action.drain}, 'serving')
      events.add('serving', `${action.unit} is healthy and serving`, name)
      if (draining) events.add('draining', `draining ${action.drain!.join(', ')}`, name)
      ctx.servingBegan()
      return
    }
    case 'unserve': {
      registry.get(action.unit)?.unserve(action.reason)
      await ctx.syncBalancer()
      const detail = ctx.monitor.snapshot(action.unit)?.lastResult?.detail
      logger.warn({process: name, unit: action.unit, reason: action.reason, detail}, 'taken out of the balancer')
      events.add('unhealthy', `${action.unit} left the balancer: ${action.reason}${detail ? ` (${detail})` : ''}`, name)
      return
    }
    case 'drain': {
      const draining = retireUnits(ctx, name, action.units, now)
      await ctx.syncBalancer()
      if (draining) events.add('draining', `draining ${action.units.join(', ')}`, name)
      return
    }
    case 'stop':
      await stopUnits(ctx, systemd, name, action.units)
      logger.info({process: name, units: action.units, reason: action.reason}, 'stopped')
      events.add(action.reason === 'replaced' ? 'replaced' : 'stopped', `${action.reason === 'replaced' ? 'replaced' : 'stopped'} ${action.units.join(', ')} (${stopReasons[action.reason]})`, name)
      return
    case 'replace': {
      ctx.tracker(name).recordFailedStart(now)
      const snapshot = ctx.monitor.snapshot(action.unit)
      const detail = snapshot?.lastResult?.detail
      // Never healthy, and nothing older to fall back on: status (and a waiting deploy) say why.
      if (snapshot?.state === 'failed') ctx.tracker(name).lastFailure = {at: now, unit: action.unit, reason: `${NEVER_HEALTHY}${detail ? `: ${detail}` : ''}; launcho restarts it`}
      unwatchHealth(ctx, action.unit)
      const endJob = ctx.beginStartJob(name, action.unit)
      try {
        await systemd.restart(action.unit, stopJobMs(ctx.timings.stopTimeoutMs) + restartJobMs(ctx, name))
      } finally {
        endJob()
      }
      if (superseded(ctx, name, action.unit) || ctx.cancellation(action.unit)) {
        await ctx.cancellation(action.unit)
        await stopUnits(ctx, systemd, name, [action.unit])
        return reportSuperseded(ctx, name, action.unit)
      }
      watchHealth(ctx, action.unit)
      events.add('restarted', `restarted unhealthy ${action.unit}${detail ? ` (${detail})` : ''}`, name)
      return
    }
    case 'recheck': {
      const detail = ctx.monitor.snapshot(action.unit)?.lastResult?.detail
      unwatchHealth(ctx, action.unit)
      watchHealth(ctx, action.unit)
      logger.info({process: name, unit: action.unit, detail}, 'restarted by systemd after a crash; checking its new process')
      events.add('rechecking', `${action.unit} was restarted by systemd; checking its new process${detail ? ` (last failure: ${detail})` : ''}`, name)
      return
    }
    case 'fail': {
      const snapshot = ctx.monitor.snapshot(action.unit)
      // A start that kept failing (its afterStart hook, say) says more than the checks that found nothing.
      const since = ctx.registry.get(action.unit)?.since ?? now
      const last = ctx.tracker(name).lastFailure
      const startFailure = last?.unit === action.unit && last.at >= since ? `; last failure: ${last.reason}` : ''
      const reason = `not healthy within its start-up deadline${snapshot?.lastResult ? `: ${snapshot.lastResult.detail}` : ''}${startFailure}`
      ctx.failedRollouts.set(name, {version: action.version, reason, at: now})
      ctx.registry.get(action.unit)?.failed(reason)
      // Told as status shows it, before the stop: a status read meanwhile never runs ahead of the events.
      logger.warn({process: name, version: action.version, reason}, 'rollout failed; the previous version keeps serving')
      events.add('rollout-failed', `rollout of ${action.version} failed (${reason}); the previous version keeps serving`, name)
      await stopUnits(ctx, systemd, name, [action.unit])
      return
    }
    case 'hold': {
      const tracker = ctx.tracker(name)
      const first = action.units[0]!
      const reason = (await failureReasonOf(ctx, first, name)) ?? tracker.lastFailure?.reason
      if (reason) tracker.lastFailure = {at: Date.now(), unit: first, reason}
      const retryAt = tracker.hold(Date.now())
      // Told before the stop, as status shows the hold from now on (a status read during a slow
      // stop saw the new delay without its event).
      const seconds = ((retryAt - Date.now()) / 1000).toFixed(1)
      const units = action.units.join(', ')
      logger.warn({process: name, units: action.units, retryInS: Number(seconds), reason}, 'crash-looping; holding back')
      events.add('crash-looping', `${units} ${action.units.length > 1 ? 'are' : 'is'} crash-looping${reason ? ` (${reason})` : ''}; next start in ${seconds}s`, name)
      await stopUnits(ctx, systemd, name, action.units)
      ctx.wakeAt(retryAt, name)
    }
  }
}

/** How a new instance that never turned healthy in time is told (status, events, a waiting deploy). */
export const NEVER_HEALTHY = 'not healthy within its start-up deadline'

const stopReasons = {
  removed: 'no longer in the target',
  replaced: 'replaced by a newer version',
  superseded: 'superseded before it served',
  'rollout-failed': 'rollout failed',
  'scaled-down': 'scaled down',
}

/**
 * Starts the desired instance. Every way a start can fail — launcho's own preparation throwing,
 * systemd refusing the unit, or its start job not succeeding — is told once, in status and an
 * event, and launcho's next start waits for the start back-off. A failed start job also counts as
 * a crash: systemd retries that unit itself until the crash policy holds it back. A newer desired
 * state cancels the start (see Reconciler.setDesired).
 */
async function start(ctx: ReconcilerContext, systemd: SystemdManager, name: string, process: DesiredProcess, unit: string) {
  const {spec} = process
  const endJob = ctx.beginStartJob(name, unit)
  let result: StartResult
  let ports: Record<string, number> = {}
  try {
    ports = await ctx.registry.ports.allocate(unit, spec.receives)
    ctx.registry.register(unit, name, process.version, ports, Date.now())
    const portEnv = Object.fromEntries(Object.entries(ports).map(([service, port]) => [portVariable(service), String(port)]))
    const place = await prepareUnitFiles(process, unit, ctx, portEnv)
    // Checked right before the call: a cancel sent after it reaches systemd after the start.
    result = superseded(ctx, name, unit) ? 'canceled' : await systemd.start(unitSpecOf(process, unit, place, ctx.timings))
    if (result === 'exists') {
      // systemd runs it already (a listing did not show it): not a failed start. The next pass
      // adopts it with the ports its environment names; the ones allocated here are released.
      ctx.registry.forget(unit)
      ctx.logger.info({process: name, unit}, 'systemd has this unit already (UnitExists); adopting it on the next pass')
      return
    }
  } catch (error) {
    // Nothing is removed: the unit may exist after all (a D-Bus reply lost); the sweep of
    // leftovers removes its files once systemd has no such unit.
    ctx.registry.forget(unit)
    if (superseded(ctx, name, unit)) return reportSuperseded(ctx, name, unit)
    return startFailed(ctx, name, unit, (error as Error).message)
  } finally {
    endJob()
    ctx.registry.startEnded(unit)
  }
  if (superseded(ctx, name, unit) || ctx.cancellation(unit)) {
    await ctx.cancellation(unit)
    await stopUnits(ctx, systemd, name, [unit])
    return reportSuperseded(ctx, name, unit)
  }
  if (result === 'done') {
    ctx.registry.get(unit)?.started()
    ctx.tracker(name).startSucceeded()
    watchHealth(ctx, unit)
    ctx.logger.info({process: name, unit, ports}, 'started')
    ctx.events.add('started', `started ${unit}${Object.keys(ports).length ? ` (${describePorts(ports)})` : ''}`, name)
    return
  }
  // systemd's words may reach the journal just after the job's end.
  const reason =
    (await failureReasonOf(ctx, unit, name)) ??
    (await new Promise((resolve) => setTimeout(resolve, 250)).then(() => failureReasonOf(ctx, unit, name))) ??
    `its start job ended: ${result}`
  watchHealth(ctx, unit)
  ctx.registry.get(unit)?.failed(reason)
  ctx.tracker(name).recordFailedStart(Date.now())
  startFailed(ctx, name, unit, reason)
}

/** A restart's start part: as long as the desired unit's start steps may take. */
function restartJobMs(ctx: ReconcilerContext, name: string): number {
  const spec = ctx.desired.get(name)?.spec
  return startJobMs({
    startTimeoutMs: ctx.timings.startTimeoutMs,
    ...(spec?.before !== undefined ? {before: spec.before} : {}),
    ...(spec?.hooks?.afterStart ? {afterStart: spec.hooks.afterStart} : {}),
  })
}

function superseded(ctx: ReconcilerContext, name: string, unit: string): boolean {
  return !isDesiredUnit(ctx.desired.get(name), unit)
}

function reportSuperseded(ctx: ReconcilerContext, name: string, unit: string): void {
  ctx.logger.info({process: name, unit}, 'start canceled: superseded by a newer version')
  ctx.events.add('stopped', `canceled the start of ${unit} (superseded by a newer version)`, name)
}

/** One log line and one event per failed start (repeats of the same event are folded). */
function startFailed(ctx: ReconcilerContext, name: string, unit: string, reason: string): void {
  const now = Date.now()
  const retryAt = ctx.tracker(name).startFailed(now, {at: now, unit, reason})
  ctx.logger.warn({process: name, unit, reason, retryInS: Number(((retryAt - now) / 1000).toFixed(1))}, 'start failed; retrying after a delay')
  ctx.events.addOrFold('start-failed', `${unit} failed to start: ${reason}; retrying with a growing delay`, name)
  ctx.wakeAt(retryAt, name)
}

function describePorts(ports: Record<string, number>): string {
  return Object.entries(ports)
    .map(([service, port]) => `${portVariable(service)}=${port}`)
    .join(', ')
}

/** Starts health checks of an instance of a process that has them (idempotent). */
export function watchHealth(ctx: ReconcilerContext, unit: string): void {
  const instance = ctx.registry.get(unit)
  const desired = instance ? ctx.desired.get(instance.process) : undefined
  if (!instance || !isDesiredUnit(desired, unit)) return
  const check = ctx.healthCheckOf(desired!, unit, instance.ports)
  if (!check) return
  ctx.monitor.watch(unit, check.check, check.policy)
  instance.watched()
}

/** Ends the health checks of an instance (idempotent). */
export function unwatchHealth(ctx: ReconcilerContext, unit: string): void {
  ctx.monitor.unwatch(unit)
  ctx.registry.get(unit)?.unwatched()
}

export async function stopUnits(ctx: ReconcilerContext, systemd: SystemdManager, process: string, units: string[]) {
  // Out of the balancer first, so no new connection goes to an instance that is going away.
  for (const unit of units) ctx.registry.get(unit)?.stopping()
  await ctx.syncBalancer()
  await Promise.all(
    units.map(async (unit) => {
      unwatchHealth(ctx, unit)
      const ports = Object.values(ctx.registry.get(unit)?.ports ?? {})
      const outcome = await systemd.stop(unit, stopJobMs(ctx.timings.stopTimeoutMs))
      await ctx.backendsStopped(ports)
      const hook = beforeStopFailure(outcome, ctx.timings.stopTimeoutMs)
      if (hook) {
        ctx.logger.warn({process, unit, result: outcome.result}, `the beforeStop hook ${hook}`)
        ctx.events.add('hook', `the beforeStop hook of ${unit} ${hook}; the instance was stopped anyway`, process)
      }
      const killed = killedAtStop(outcome, ctx.timings.stopTimeoutMs)
      if (killed) {
        ctx.logger.warn({process, unit}, `${unit} ${killed}`)
        ctx.events.add('killed', `${unit} ${killed}; handle SIGTERM, or raise the server's stopTimeoutSeconds`, process)
      }
      ctx.tracker(process).forget(unit)
      ctx.registry.forget(unit)
      await removeEnvironmentFile(ctx.stateDir.environmentFile(unit))
      await removeCredentialFiles(ctx.stateDir.credentialsDir(unit))
      // The unit is stopped either way; a work dir that could not go (yet) is the sweep's to retry.
      const desired = ctx.desired.get(process)
      const records = ctx.stateDir.dynamicUsersDir
      const dynamic = await hasDynamicWorkDir(unit, records)
      if (dynamic || desired?.spec.cwd === undefined) {
        const removal = dynamic ? removeDynamicWorkDir(unit, records, ctx.stateDir.instanceDir(unit)) : removeWorkDir(ctx.stateDir.instanceDir(unit))
        await removal.catch((error: Error) => {
          ctx.logger.warn({process, unit, err: error.message}, 'could not remove the work dir; retrying later')
        })
      }
    }),
  )
}
