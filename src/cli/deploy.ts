/**
 * What `t set`, `secret set`, `secret rm` and `restart` share after the server accepted the
 * change: print what changes, then (unless --detach) follow the rollout until every changed
 * process serves its new version, and fail with the reason when one does not.
 */
import {LaunchoError} from '../errors.js'
import type {ChangesResponse} from '../protocol/changes.js'
import type {ApiClient} from './client.js'
import {parseDuration} from './duration.js'
import {describeChanges} from './print-changes.js'
import {changesToFollow, type Progress} from './rollout-progress.js'

export const DEFAULT_TIMEOUT = '10m'

/** Ctrl-C (or SIGTERM) while following: the rollout goes on; the command exits 130. */
export class DeployInterrupted extends Error {
  constructor() {
    super('stopped waiting; the rollout goes on')
  }
}

export interface DeployFlags {
  json?: boolean
  detach?: boolean
  timeout?: string
}

/** Prints the change and, unless detached, follows it; throws when the rollout fails or times out. */
export async function finishDeploy(client: ApiClient, response: ChangesResponse, flags: DeployFlags, log: (text: string) => void): Promise<void> {
  const timeoutMs = parseDuration(flags.timeout ?? DEFAULT_TIMEOUT, '--timeout')
  const followed = changesToFollow(response.changes)
  if (flags.detach || followed.length === 0) {
    if (flags.json) log(JSON.stringify({changes: response.changes, ...releaseOf(response)}, null, 2))
    else log(describeChanges(response.changes, response.release))
    return
  }
  if (!flags.json) log(describeChanges(response.changes, response.release))
  // Loaded only when there is a rollout to follow: a change that needs none returns sooner.
  const [{followRollout}, {LineRolloutView, outcomeLine, silentView, TerminalRolloutView}] = await Promise.all([import('./follow-rollout.js'), import('./rollout-views.js')])
  const terminal = !flags.json && process.stdout.isTTY ? new TerminalRolloutView() : undefined
  const view = flags.json ? silentView : (terminal ?? new LineRolloutView(log))
  const stop = new AbortController()
  const interrupt = () => stop.abort()
  process.once('SIGINT', interrupt)
  process.once('SIGTERM', interrupt)
  let result
  try {
    result = await followRollout(client, response, {timeoutMs, view, signal: stop.signal})
  } finally {
    process.off('SIGINT', interrupt)
    process.off('SIGTERM', interrupt)
    terminal?.finish()
  }
  const {progress, end} = result
  if (end === 'aborted') {
    process.stderr.write('Stopped waiting; the rollout goes on (launcho status shows it).\n')
    throw new DeployInterrupted()
  }
  const failures = progress.filter((one) => one.outcome === 'failed')
  if (failures.length > 0) throw rolloutFailed(failures)
  if (end === 'timeout') {
    const waiting = progress.filter((one) => one.outcome === undefined)
    throw new LaunchoError('timed_out', `gave up waiting after ${flags.timeout}: ${waiting.map((one) => `${one.process} is ${one.phase}${one.detail ? ` (${one.detail})` : ''}`).join('; ')}`, {
      hint: 'the rollout goes on on the server: "launcho status" shows it, "launcho events -f" follows it; --timeout waits longer',
    })
  }
  if (flags.json) log(JSON.stringify({changes: response.changes, ...releaseOf(response), rollout: progress.map(summary)}, null, 2))
  else if (terminal) log(`Done: ${progress.map(outcomeLine).join(', ')}.`)
}

function releaseOf(response: ChangesResponse): {release?: number} {
  return response.release !== undefined ? {release: response.release} : {}
}

function rolloutFailed(failures: Progress[]): LaunchoError {
  const hint = `see "launcho status" and "launcho logs ${failures[0]!.process}"; fix the target (or secret) and set it again`
  if (failures.length === 1) {
    const [one] = failures as [Progress]
    return new LaunchoError('rollout_failed', `the rollout of ${one.process} (${one.change.to}) failed: ${one.reason}${keepsServing(one)}${outputText(one)}`, {hint})
  }
  return new LaunchoError('rollout_failed', `the rollout of ${failures.length} processes failed`, {
    hint,
    problems: failures.map((one) => ({field: one.process, message: `${one.reason}${keepsServing(one)}${outputText(one)}`})),
  })
}

/** A failed hook's last lines, indented under the failure. */
function outputText(progress: Progress): string {
  return progress.output?.length ? `\nIts last lines of output:\n${progress.output.map((line) => `  ${line}`).join('\n')}` : ''
}

function keepsServing(progress: Progress): string {
  return progress.change.change === 'replace' || progress.change.change === 'adopt' ? `; the previous version (${progress.change.from}) keeps serving` : ''
}

function summary(progress: Progress) {
  return {
    process: progress.process,
    change: progress.change.change,
    ...(progress.change.to ? {version: progress.change.to} : {}),
    outcome: progress.outcome ?? 'waiting',
    ...(progress.reason ? {reason: progress.reason} : {}),
  }
}
