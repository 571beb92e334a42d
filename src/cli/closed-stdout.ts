/**
 * A reader that stops reading (`launcho t get | head`) makes stdout fail with EPIPE. A command
 * that just prints then ends quietly with 0, as `head` meant it to (bin/launcho.js installs this
 * first, for every client command). A command with something to end first (`run` stops its unit,
 * the streaming commands close their follow) says so while it runs, and handles the error itself.
 *
 * oclif swallows EPIPE on stdout without ending anything: a command awaiting its output then
 * left Node with nothing to do, and it exited 13 with an "unsettled top-level await" warning.
 */
let handlers = 0

export function endQuietlyOnClosedStdout(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error
    if (handlers === 0) process.exit(0)
  })
}

/** While the returned release is not called, a closed stdout is the command's to handle. */
export function handleClosedStdout(): () => void {
  handlers++
  let released = false
  return () => {
    if (released) return
    released = true
    handlers--
  }
}
