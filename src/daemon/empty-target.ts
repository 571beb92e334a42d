/**
 * A target without processes stops everything launcho runs. That is what an empty file, a pipe
 * whose command failed (`cat missing | launcho t set -`) or a target emptied by mistake all look
 * like, so it is refused unless asked for (`--allow-empty`).
 */
import {LaunchoError} from '../errors.js'

const LISTED = 10

/** `running`: the processes of the target now, which setting this one would stop. */
export function emptyTargetRefused(text: string, running: string[]): LaunchoError {
  const what = text.trim() === '' ? 'the target is empty (no text at all)' : 'the target has no processes'
  const names = running.slice(0, LISTED).join(', ') + (running.length > LISTED ? ` and ${running.length - LISTED} more` : '')
  const effect = running.length > 0 ? `setting it would stop every process (${names})` : 'setting it would leave no process running'
  return new LaunchoError('invalid_target', `refused: ${what}; ${effect}. Nothing was changed`, {
    hint: 'to stop every process on purpose, set it with --allow-empty (launcho t set FILE --allow-empty); if it came through a pipe, check the command that produced it',
  })
}
