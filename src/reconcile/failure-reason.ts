/**
 * Why an instance's last run ended, for status and events: from systemd's structured exit facts
 * when its signal carried them (exit-facts.ts), else systemd's words from the journal (a spawn
 * step that failed, a `before` that failed), and what launcho knows on top of them.
 */
import type {ReconcilerContext} from './context.js'
import {describeExitFacts} from './exit-facts.js'

/** Structured facts older than this describe an earlier run, not the one being explained. */
const FACTS_FRESH_MS = 60_000

export async function failureReasonOf(ctx: ReconcilerContext, unit: string, process: string): Promise<string | undefined> {
  const facts = ctx.exitOf(unit)
  const structured = facts && Date.now() - facts.at < FACTS_FRESH_MS ? describeExitFacts(facts) : undefined
  const reason = structured ?? (await ctx.journal.failureReason(unit))
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
