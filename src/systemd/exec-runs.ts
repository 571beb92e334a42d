/**
 * How a unit's control commands last ran (ExecStartPost, ExecStop, …), from the `…Ex` property
 * systemd keeps for each: signature a(sasasttttuii), one entry per command with its path, argv,
 * flags, start and exit times (realtime and monotonic µs), PID, siginfo code and status. Read over
 * D-Bus when a failure needs explaining: neither the listing nor the signals launcho takes in carry them.
 */
import {PROPERTIES_IFACE, SERVICE_IFACE, type Bus} from './bus.js'
import {unitPathOf} from './unit-name.js'

export interface ExecRun {
  path: string
  /** Realtime µs it started; 0 when it never ran. */
  startUs: number
  /** Realtime µs it ended; 0 while it runs (or never ran). */
  exitUs: number
  pid: number
  /** siginfo code: 1 exited, 2 killed, 3 dumped core (0 before it ended). */
  code: number
  status: number
}

/** What a start's control commands say, with the facts of the run they belong to. */
export interface StartRuns {
  /** The service's Result: success, exit-code, signal, timeout, … */
  result: string
  /** Realtime µs its current (or last) main process was exec'd. */
  mainStartUs: number
  afterStart: ExecRun[]
}


type RawRun = [string, string[], string[], bigint, bigint, bigint, bigint, number, number, number]

export function execRunsOf(value: unknown): ExecRun[] {
  if (!Array.isArray(value)) return []
  return (value as RawRun[]).map(([path, , , startUs, , exitUs, , pid, code, status]) => ({
    path,
    startUs: Number(startUs),
    exitUs: Number(exitUs),
    pid: Number(pid),
    code: Number(code),
    status: Number(status),
  }))
}

/** Reads the facts of a unit's last start-post step (one read for a unit without one); throws when the unit is gone. */
export async function readStartRuns(bus: Bus, unit: string): Promise<StartRuns> {
  const path = unitPathOf(unit)
  const get = async (property: string): Promise<unknown> => {
    const [variant] = (await bus.call({path, iface: PROPERTIES_IFACE, member: 'Get', signature: 'ss', body: [SERVICE_IFACE, property]})) as [{value: unknown}]
    return variant?.value
  }
  const afterStart = execRunsOf(await get('ExecStartPostEx'))
  if (afterStart.length === 0) return {result: '', mainStartUs: 0, afterStart}
  const [result, mainStart] = await Promise.all([get('Result'), get('ExecMainStartTimestamp')])
  return {result: String(result ?? ''), mainStartUs: Number(mainStart ?? 0), afterStart}
}
