/**
 * The kernel's records of connections a stopped backend reset. NAT keeps a conntrack entry per
 * connection, bound to the backend it was sent to; one the backend ended with a TCP reset (a
 * process killed mid-request, a stop that cut its connections) stays in state CLOSE for 10 s, and
 * the kernel does not reopen it for a new SYN on the same 5-tuple: a client that reuses that source
 * port is sent to the stopped backend again and refused, and each refusal restarts the 10 s. Under
 * a steady stream of new connections the ports come round every few seconds, so such an entry can
 * live on (seen: a refusal every few seconds, long after the rollout). Entries in state CLOSE
 * belong to connections that are over, so forgetting them loses nothing.
 */
import type {Endpoint, ForgetOutcome} from './balancer.js'
import type {CommandRunner} from './command-runner.js'

export function forgetResetArgv(backend: Endpoint): string[] {
  return ['conntrack', '-D', '-p', 'tcp', '--state', 'CLOSE', '--reply-src', backend.host, '--reply-port-src', String(backend.port)]
}

/** Deletes the backend's CLOSE entries; conntrack exits 1 when there were none, which is fine. */
export async function forgetResetConnections(run: CommandRunner, backend: Endpoint): Promise<ForgetOutcome> {
  const result = await run(forgetResetArgv(backend))
  if (result.code === 127) return {missing: 'conntrack is not installed (Debian package conntrack)'}
  const deleted = /(\d+) flow entries have been deleted/.exec(`${result.stderr}${result.stdout}`)
  if (deleted) return {forgotten: Number(deleted[1])}
  return {failed: result.stderr.trim().split('\n')[0] || `conntrack exited with ${result.code}`}
}
