/** Prints what a target or secret change does to each process, and why. */
import type {ProcessChange} from '../protocol/changes.js'
import type {ExposureSummary} from '../protocol/status.js'

const shown = (exposure: ExposureSummary) => `${exposure.score.toFixed(1)} ${exposure.rating}`

/** `; exposure 9.6 UNSAFE → 1.9 OK`, or `; exposure 1.9 OK` for a new process or an unchanged score. */
function exposureText(change: ProcessChange): string {
  const {from, to} = change.exposure ?? {}
  if (!to) return ''
  return from && shown(from) !== shown(to) ? `; exposure ${shown(from)} → ${shown(to)}` : `; exposure ${shown(to)}`
}

export function describeChanges(changes: ProcessChange[]): string {
  const moved = changes.filter((change) => change.change !== 'unchanged')
  if (moved.length === 0) return 'No process changes.'
  return moved
    .map((change) => {
      const why = (change.reasons?.length ? `: ${change.reasons.join(', ')}` : '') + exposureText(change)
      switch (change.change) {
        case 'start':
          return `start    ${change.process} (${change.to})${why}`
        case 'stop':
          return `stop     ${change.process} (${change.from})${why}`
        case 'scale':
          return `scale    ${change.process} (${change.to})${why}`
        default:
          return `replace  ${change.process} (${change.from} -> ${change.to})${why}`
      }
    })
    .join('\n')
}
