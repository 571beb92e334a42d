/** Prints what a target or secret change does to each process, and why. */
import type {ProcessChange} from '../protocol/changes.js'
import type {ExposureSummary} from '../protocol/status.js'

const shown = (exposure: ExposureSummary) => `${exposure.score.toFixed(1)} ${exposure.rating}`

/** `; exposure 9.6 UNSAFE → 1.9 OK` where it changes, `; exposure 1.9 OK` for a new process; nothing where it stays. */
function exposureText(change: ProcessChange): string {
  const {from, to} = change.exposure ?? {}
  if (!to) return ''
  if (!from) return `; exposure ${shown(to)}`
  return shown(from) !== shown(to) ? `; exposure ${shown(from)} → ${shown(to)}` : ''
}

export function describeChanges(changes: ProcessChange[], release?: number): string {
  const moved = changes.filter((change) => change.change !== 'unchanged')
  // Stopped with `launcho stop` and staying so, whatever the change did to the target.
  const kept = changes.filter((change) => change.change === 'unchanged' && change.stopped)
  const lines = moved.map((change) => {
    const why = (change.reasons?.length ? `: ${change.reasons.join(', ')}` : '') + exposureText(change)
    switch (change.change) {
      case 'start':
        return `start    ${change.process} (${change.to})${why}`
      case 'stop':
        return `stop     ${change.process} (${change.from})${why}`
      case 'scale':
        return `scale    ${change.process} (${change.to})${why}`
      case 'adopt':
        return `adopt    ${change.process} (${change.from} -> ${change.to})${why}`
      default:
        return [`replace  ${change.process} (${change.from} -> ${change.to})${why}`, ...(change.properties ?? []).map((line) => `           ${line}`)].join('\n')
    }
  })
  if (moved.length === 0) lines.push('No process changes.')
  else if (release !== undefined) lines.unshift(`Release ${release}:`)
  for (const change of kept) lines.push(`stopped  ${change.process}: stays stopped; launcho start ${change.process} runs it`)
  return lines.join('\n')
}
