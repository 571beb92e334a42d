/**
 * How a command that streams (logs -f, events -f, status -w) is ended: Ctrl-C, SIGTERM or a closed
 * pipe (`| head`) abort `signal`, a normal end (exit 0). `dispose()` removes the listeners again.
 */
import {handleClosedStdout} from './closed-stdout.js'

export interface StreamStop {
  signal: AbortSignal
  dispose(): void
}

export function streamStop(): StreamStop {
  const release = handleClosedStdout()
  const stop = new AbortController()
  const end = () => stop.abort()
  process.once('SIGINT', end)
  process.once('SIGTERM', end)
  process.stdout.once('error', end)
  return {
    signal: stop.signal,
    dispose() {
      process.off('SIGINT', end)
      process.off('SIGTERM', end)
      process.stdout.off('error', end)
      release()
    },
  }
}
