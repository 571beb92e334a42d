/**
 * Why a main process ended, from systemd's structured properties (Result, ExecMainCode,
 * ExecMainStatus) as its signal carried them at the moment it died — not from systemd's English
 * log lines. Only systemd's own spawn failures (exit statuses 200–243: the step of starting that
 * failed, e.g. 200/CHDIR) need the journal, for the words systemd puts nowhere else.
 */
import {constants} from 'node:os'

export interface ExitFacts {
  /** siginfo code: 1 exited, 2 killed, 3 dumped core. */
  code: number
  status: number
  /** The service's Result: success, exit-code, signal, core-dump, oom-kill, timeout … */
  result: string
  /** When it ended, realtime µs as systemd told it (0: not told). */
  exitUs?: number
  at: number
  /**
   * The afterStart hook's failure that made systemd end this main process, read from systemd when
   * it ended (before systemd's restart runs the hook again and overwrites what it tells).
   */
  afterStartFailure?: Promise<string | undefined>
}

const CLD_EXITED = 1
const CLD_KILLED = 2
const CLD_DUMPED = 3

const signalNames = new Map(Object.entries(constants.signals).map(([name, number]) => [number, name.replace(/^SIG/, '')]))

/** The reason as status and events say it, or undefined when only the journal can tell. */
export function describeExitFacts(facts: ExitFacts): string | undefined {
  const killed = (core: boolean) => `killed by signal ${facts.status}/${signalNames.get(facts.status) ?? '?'}${core ? ' (core dumped)' : ''}`
  if (facts.result === 'oom-kill') return `out of memory: the OOM killer ended it at its memoryMax (${killed(false)})`
  if (facts.code === CLD_EXITED) {
    if (facts.status >= 200 && facts.status <= 243) return undefined
    return `exited with status ${facts.status}`
  }
  if (facts.code === CLD_KILLED) return killed(false)
  if (facts.code === CLD_DUMPED) return killed(true)
  return undefined
}
