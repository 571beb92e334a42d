/**
 * How a run ended, from its oneshot unit's start job and systemd's structured Result,
 * ExecMainCode and ExecMainStatus (systemd/oneshot.ts); only a failure to start (a spawn step,
 * exit statuses 200–243, or a failed `before`) takes systemd's words from the journal.
 */
import type {OneshotResult} from '../systemd/oneshot.js'

/** How a run ended (the protocol's runExitSchema has this shape). */
export interface RunExit {
  code?: number
  signal?: number
  timedOut?: boolean
  /** Why it could not start, in systemd's words. */
  reason?: string
}

const CLD_EXITED = 1
const CLD_KILLED = 2
const CLD_DUMPED = 3
const SIGTERM = 15

export function runExitOf(result: OneshotResult, journalReason: () => Promise<string | undefined>): Promise<RunExit> | RunExit {
  if (result.job === 'done') return {code: 0}
  if (result.result === 'timeout') return {timedOut: true}
  const code = result.execMainCode ?? 0
  const status = result.execMainStatus ?? 0
  if (code === CLD_KILLED || code === CLD_DUMPED) return {signal: status}
  if (code === CLD_EXITED && (status < 200 || status > 243)) return {code: status}
  if (result.job === 'canceled') return {signal: SIGTERM, reason: 'stopped before it ended (systemctl stop?)'}
  // Never got to run: a spawn step (203/EXEC, 217/USER …) or the `before` failed.
  return journalReason().then((reason) => ({
    code: code === CLD_EXITED && status === 203 ? 127 : 1,
    reason: reason ?? `it could not start (${result.result || result.job}${code === CLD_EXITED ? `, status ${status}` : ''})`,
  }))
}
