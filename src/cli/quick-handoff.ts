/**
 * A quick path (quick-status.ts, quick-set.ts, quick-secret-set.ts) never prints an error: once it
 * has begun (read a file or stdin, sent a request), whatever fails is handed to the command, which
 * reports it as its own (file and line, exit codes, --json) without reading or sending again.
 */
let failure: {error: unknown} | undefined

export function handOver(error: unknown): void {
  failure = {error}
}

/** What the quick path's run failed with, for the command to report (taken once). */
export function takeQuickFailure(): {error: unknown} | undefined {
  const taken = failure
  failure = undefined
  return taken
}
