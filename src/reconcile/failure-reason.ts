/**
 * Why an instance's last run ended, for status and events: its `afterStart` hook when that failed
 * the start (hook-failure.ts: the main process is then killed by systemd, so its exit would
 * mislead), else systemd's structured exit facts when its signal carried them (exit-facts.ts),
 * else systemd's words from the journal (a spawn step that failed, a `before` that failed), and
 * what launcho knows on top of them.
 */
import type {ReconcilerContext} from './context.js'
import {describeExitFacts} from './exit-facts.js'
import {describeAfterStartFailure} from './hook-failure.js'
import {isDesiredUnit} from './desired.js'

/** Structured facts older than this describe an earlier run, not the one being explained. */
const FACTS_FRESH_MS = 60_000

export async function failureReasonOf(ctx: ReconcilerContext, unit: string, process: string): Promise<string | undefined> {
  const last = ctx.exitOf(unit)
  const facts = last && Date.now() - last.at < FACTS_FRESH_MS ? last : undefined
  // Read when its main process ended, else now (a failed start job: systemd has not restarted it yet).
  const hook = facts?.afterStartFailure
    ? await facts.afterStartFailure
    : mayHaveAfterStart(ctx, process, unit)
      ? await afterStartFailureOf(ctx, unit)
      : undefined
  if (hook !== undefined) return hook
  const structured = facts ? describeExitFacts(facts) : undefined
  const reason = structured ?? (await ctx.journal.failureReason(unit))
  return reason === undefined ? undefined : withMemoryHint(reason, ctx.desired.get(process)?.spec.memoryMax)
}

/** Whether the unit may have an afterStart hook: its process's desired version has one, or it is of another version. */
export function mayHaveAfterStart(ctx: Pick<ReconcilerContext, 'desired'>, process: string, unit: string): boolean {
  const desired = ctx.desired.get(process)
  return !desired || !isDesiredUnit(desired, unit) || desired.spec.hooks?.afterStart !== undefined
}

/** How the unit's afterStart failed its current (or last) run, if it did; a unit gone by now has nothing to tell. */
export async function afterStartFailureOf(ctx: ReconcilerContext, unit: string): Promise<string | undefined> {
  const runs = await ctx.startRunsOf(unit).catch(() => undefined)
  return runs && describeAfterStartFailure(runs, ctx.timings.startTimeoutMs)
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
