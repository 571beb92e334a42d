/** Prints what a target or secret change does to each process, and why. */
import type {ProcessChange} from '../protocol/changes.js'

export function describeChanges(changes: ProcessChange[]): string {
  const moved = changes.filter((change) => change.change !== 'unchanged')
  if (moved.length === 0) return 'No process changes.'
  return moved
    .map((change) => {
      const why = change.reasons?.length ? `: ${change.reasons.join(', ')}` : ''
      switch (change.change) {
        case 'start':
          return `start    ${change.process} (${change.to})${why}`
        case 'stop':
          return `stop     ${change.process} (${change.from})${why}`
        case 'scale':
          return `scale    ${change.process} (${change.to})${why}`
        default:
          return [`replace  ${change.process} (${change.from} -> ${change.to})${why}`, ...(change.properties ?? []).map((line) => `           ${line}`)].join('\n')
      }
    })
    .join('\n')
}
