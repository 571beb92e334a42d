/** How releases read in `history` and `status`. */
import type {ReleaseDetail, ReleaseOutcome} from '../protocol/releases.js'
import {localTime} from './format.js'

/** `serving`, `failed: web: …`, `rolling-out`, `superseded`. */
export function outcomeText(outcome: ReleaseOutcome): string {
  return outcome.state === 'failed' && outcome.reason ? `failed: ${outcome.reason}` : outcome.state
}

/** `history N`: the release in full, secret names only. */
export function describeRelease(release: ReleaseDetail): string {
  const lines = [
    `Release ${release.number}  ${localTime(release.time)}  ${release.rollbackOf !== undefined ? `rollback to release ${release.rollbackOf}` : release.kind}`,
    `Outcome:   ${outcomeText(release.outcome)}${release.outcome.at ? ` (${localTime(release.outcome.at)})` : ''}`,
    'Changes:',
    ...(release.changes.length > 0 ? release.changes.map((line) => `  ${line}`) : ['  -']),
    'Versions:',
    ...Object.entries(release.versions).map(([process, version]) => `  ${process}  ${version}${release.stopped.includes(process) ? ' (stopped)' : ''}`),
    `Secrets:   ${release.secrets.join(', ') || '-'}`,
    'Resources:',
    ...(release.resources.length > 0 ? release.resources.map((resource) => `  ${resource.process}  ${resource.id}`) : ['  -']),
    'Target:',
    ...release.target.replace(/\n$/, '').split('\n').map((line) => `  ${line}`),
  ]
  return lines.join('\n')
}
