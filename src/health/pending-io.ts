/**
 * Runs `fn` once the I/O that is already pending has been handled. Node runs expired timers before
 * it polls for I/O: when launcho's event loop was blocked (a busy start-up, a long GC on a loaded
 * machine) past a check's timeout, the timeout would fire before the answer that arrived meanwhile
 * is read, and a healthy instance would count a failure. setImmediate runs after the poll phase.
 */
export function afterPendingIo(fn: () => void): void {
  setImmediate(fn)
}
