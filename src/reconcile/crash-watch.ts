/**
 * Restarts systemd did on its own (Restart=always) since the last look: counted for the crash
 * policy, explained from the journal, and told as events.
 */
import type {ObservedUnit} from '../systemd/manager.js'
import type {ReconcilerContext} from './context.js'
import {failureReasonOf} from './failure-reason.js'

export function noticeCrashes(ctx: ReconcilerContext, observed: ObservedUnit[], now: number): void {
  for (const unit of observed) {
    const runningSince = unit.activeState === 'active' && unit.execMainStartUs > 0 ? unit.execMainStartUs / 1000 : undefined
    const crashes = ctx.tracker(unit.process).observe(unit.name, unit.nRestarts, runningSince, now)
    if (crashes === 0) continue
    void failureReasonOf(ctx, unit.name, unit.process).then((reason) => {
      const why = reason ?? 'exited'
      const tracker = ctx.tracker(unit.process)
      tracker.lastFailure = {at: Date.now(), unit: unit.name, reason: why}
      // While a loop is being held back, each crash is already told by its crash-looping event.
      if (tracker.view(Date.now()).looping) return
      ctx.events.add('exited', `${unit.name} exited and was restarted by systemd: ${why}`, unit.process)
    })
  }
}
