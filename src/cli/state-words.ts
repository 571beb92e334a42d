/**
 * One vocabulary for states in `status`: the process's state for its current instance, and the
 * same words for the old ones of a rollout (never systemd's `active/running` pairs), with a colour
 * for each on a terminal.
 */
import {instanceState} from '../protocol/instance-state.js'

export {instanceState}

const GREEN = '\u001b[32m'
const YELLOW = '\u001b[33m'
const RED = '\u001b[31m'
const RESET = '\u001b[39m'

/** Good green, transitional yellow, bad red; the text is kept as it is (padding included). */
export function stateColour(text: string): string {
  const word = text.trim().split(/[\s(]/)[0] ?? ''
  // A word cut to fit ("rolling…") still has its colour.
  const is = (states: string[]) => states.some((state) => (word.endsWith('…') ? state.startsWith(word.slice(0, -1)) : state === word))
  const colour = is(['running', 'healthy'])
    ? GREEN
    : is(['crash-looping', 'rollout-failed', 'failed', 'unhealthy'])
      ? RED
      : is(['starting', 'pending', 'rolling-out', 'draining', 'stopping'])
        ? YELLOW
        : undefined
  return colour ? `${colour}${text}${RESET}` : text
}
