/**
 * Why an instance's last run ended, for status and events: systemd's words from the journal, and
 * what launcho knows on top of them.
 */
import type {ReconcilerContext} from './context.js'

export async function failureReasonOf(ctx: ReconcilerContext, unit: string, process: string): Promise<string | undefined> {
  const reason = await ctx.journal.failureReason(unit)
  return reason === undefined ? undefined : withMemoryHint(reason, ctx.desired.get(process)?.spec.memoryMax)
}

/**
 * With cgroup v2 systemd itself reports an OOM kill ("out of memory: …"). On a cgroup v1 host it
 * cannot tell one apart from any SIGKILL, so a SIGKILL of a process with a memory limit, which
 * launcho did not send, is most likely its limit.
 */
export function withMemoryHint(reason: string, memoryMax: string | undefined): string {
  if (memoryMax === undefined || !/^killed by signal 9\/KILL$/.test(reason)) return reason
  return `${reason}: probably out of memory at its memoryMax of ${memoryMax} (this host's cgroups do not report OOM kills)`
}
