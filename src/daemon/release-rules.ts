/** Which release a rollback goes to, and the errors that refuse one. */
import {LaunchoError} from '../errors.js'
import type {ReleaseStore, StoredRelease} from '../store/release-store.js'

/** `number`, or by default the newest release before the latest that ended serving. */
export function releaseToRollBackTo(releases: ReleaseStore, number?: number): StoredRelease {
  if (number !== undefined) {
    const release = releases.get(number)
    if (!release) throw releaseRefused(releases, number)
    return release
  }
  const latest = releases.latest()
  const release = latest ? releases.lastServing(latest.number) : undefined
  if (!release) {
    throw new LaunchoError('not_found', latest ? `no release before release ${latest.number} ended serving` : 'there are no releases yet', {
      hint: 'launcho history lists the releases and how each ended; launcho rollback N goes to release N',
    })
  }
  return release
}

export function releaseRefused(releases: ReleaseStore, number: number): LaunchoError {
  const kept = releases.list()
  const range = kept.length === 0 ? 'none is kept yet' : `the server keeps releases ${kept[0]!.number} to ${kept.at(-1)!.number}`
  return new LaunchoError('not_found', `release ${number} is not kept: ${range}`, {hint: 'launcho history lists the kept releases'})
}

export function stoppedRefusal(process: string, what: string): LaunchoError {
  return new LaunchoError('conflict', `process "${process}" is stopped (launcho stop); it was not ${what}ed`, {hint: `launcho start ${process} runs it again`})
}

/** A rollback never stops every process by the way: that takes an explicit `t set --allow-empty`. */
export function emptyReleaseRefused(number: number, running: string[]): LaunchoError {
  const names = running.slice(0, 10).join(', ') + (running.length > 10 ? ` and ${running.length - 10} more` : '')
  return new LaunchoError('conflict', `refused: release ${number} has no processes; going back to it would stop every process (${names}). Nothing was changed`, {
    hint: 'to stop every process on purpose, set an empty target with launcho t set FILE --allow-empty',
  })
}
