/**
 * The kernel's records of connections a stopped backend reset. NAT keeps a conntrack entry per
 * connection, bound to the backend it was sent to; one the backend ended with a TCP reset (a
 * process killed mid-request, a stop that cut its connections) stays in state CLOSE for 10 s, and
 * the kernel does not reopen it for a new SYN on the same 5-tuple: a client that reuses that source
 * port is sent to the stopped backend again and refused, and each refusal restarts the 10 s. Under
 * a steady stream of new connections the ports come round every few seconds, so such an entry can
 * live on (seen: a refusal every few seconds, long after the rollout). Entries in state CLOSE
 * belong to connections that are over, so forgetting them loses nothing: that is why one run may
 * forget those of every backend on the host, live ones included, and serve a burst of stops at once
 * (each run dumps the whole conntrack table, so 1000 stops must not mean 1000 runs).
 */
import type {Endpoint, ForgetOutcome} from './balancer.js'
import type {CommandRunner} from './command-runner.js'

export function forgetResetArgv(host: string): string[] {
  return ['conntrack', '-D', '-p', 'tcp', '--state', 'CLOSE', '--reply-src', host]
}

/** Deletes the CLOSE entries of the backends on `host`; conntrack exits 1 when there were none, which is fine. */
export async function forgetResetConnections(run: CommandRunner, host: string): Promise<ForgetOutcome> {
  const result = await run(forgetResetArgv(host))
  if (result.code === 127) return {missing: 'conntrack is not installed (Debian package conntrack)'}
  const deleted = /(\d+) flow entries have been deleted/.exec(`${result.stderr}${result.stdout}`)
  if (deleted) return {forgotten: Number(deleted[1])}
  return {failed: result.stderr.trim().split('\n')[0] || `conntrack exited with ${result.code}`}
}

/**
 * One run at a time per host, and every stop that comes while one runs is served by the next:
 * each caller's entries are forgotten by a run that began after its backend stopped.
 */
export class ResetConnectionForgetter {
  private readonly next = new Map<string, Promise<ForgetOutcome>>()
  private running: Promise<unknown> = Promise.resolve()

  constructor(private readonly run: CommandRunner) {}

  forget(backend: Endpoint): Promise<ForgetOutcome> {
    const waiting = this.next.get(backend.host)
    if (waiting) return waiting
    const run = this.running.then(() => {
      this.next.delete(backend.host)
      return forgetResetConnections(this.run, backend.host)
    })
    this.next.set(backend.host, run)
    this.running = run.catch(() => {})
    return run
  }
}
