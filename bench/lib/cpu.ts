/**
 * CPU time on this machine: all CPUs together (/proc/stat), and one process with all its threads
 * (/proc/PID/stat), found inside a sandbox by its network namespace and command line.
 */
import {readdir, readFile, stat} from 'node:fs/promises'
import type {Harness} from '../../test/helpers/harness.js'

/** Linux's USER_HZ, the unit of /proc's CPU times. */
const TICK_MS = 10

/** Busy and total ms of all CPUs so far. */
export async function machineCpu(): Promise<{busy: number; total: number}> {
  const fields = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  const total = fields.reduce((sum, n) => sum + n, 0)
  // fields[3], fields[4]: idle, iowait
  return {busy: (total - fields[3]! - fields[4]!) * TICK_MS, total: total * TICK_MS}
}

/** CPU ms (user + system, all threads) of `pid` so far; undefined once it is gone. */
export async function processCpu(pid: number): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined)
  if (!text) return undefined
  // The command name (field 2) may hold spaces: count from the ")" that closes it.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS
}

/** Host pids of the processes in `h`'s network namespace whose command line has an argument ending in `suffix`. */
export async function pidsInSandbox(h: Harness, suffix: string): Promise<number[]> {
  const netns = await stat(h.sandbox.netns)
  const found: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const ns = await stat(`/proc/${entry}/ns/net`)
      if (ns.ino !== netns.ino || ns.dev !== netns.dev) continue
      const args = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0')
      if (args.some((arg) => arg.endsWith(suffix))) found.push(Number(entry))
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found
}
