/**
 * What an instance's stop says about its beforeStop hook (ExecStop=) and about the process itself.
 * systemd stops the instance whatever the hook does, and kills a process that outlives the stop
 * timeout; it collects the unit right after, so a hook that failed or hung, or a process that
 * ignored SIGTERM, was seen only in the journal while the events said "stopped" as for any other.
 */
import type {StopOutcome} from '../systemd/manager.js'

/** CLD_EXITED: the main process ended by exiting (not by a signal). */
const EXITED = 1
/** CLD_KILLED by SIGKILL: what systemd sends to what is left when the stop timeout runs out. */
const KILLED = 2
const SIGKILL = 9

/** How the beforeStop hook went wrong during this stop, or undefined if it did not (or none ran). */
export function beforeStopFailure(outcome: StopOutcome, stopTimeoutMs: number): string | undefined {
  // A unit that had already failed (a crash) keeps that Result through its stop: not the hook's.
  if (!outcome.controlRan || outcome.resultBefore !== 'success') return undefined
  const {result} = outcome
  if (result === undefined || result === 'success') return undefined
  const timeout = `${stopTimeoutMs / 1000} s`
  if (result === 'timeout') {
    return outcome.execMainCode === KILLED && outcome.execMainStatus === SIGKILL
      ? `or the process did not finish within the stop timeout (${timeout}); systemd killed what was left`
      : `did not finish within the stop timeout (${timeout}) and was cut off`
  }
  // The process itself exiting non-zero when told to stop ends with the same Result.
  if (outcome.execMainCode === EXITED && outcome.execMainStatus !== 0) return undefined
  return `failed (${result})`
}

/**
 * How the main process ended its stop when that is worth telling and no beforeStop ran (a hook's
 * stop is judged by beforeStopFailure): still running at the stop timeout after SIGTERM, so
 * systemd killed it. Such an app loses whatever it meant to finish on SIGTERM.
 */
export function killedAtStop(outcome: StopOutcome, stopTimeoutMs: number): string | undefined {
  if (outcome.controlRan || outcome.resultBefore !== 'success' || outcome.result !== 'timeout') return undefined
  if (outcome.execMainCode !== KILLED || outcome.execMainStatus !== SIGKILL) return undefined
  return `did not exit within the stop timeout (${stopTimeoutMs / 1000} s) after SIGTERM; systemd killed it (SIGKILL)`
}
