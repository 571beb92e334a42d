/**
 * Established TCP connections to a backend, counted with `ss` in the balancer's namespace. NAT
 * leaves no balancer-side socket, so we count the backend's own accepted sockets: every connection
 * that stopping the backend would cut, whether it came through the service address or not.
 */
import type {CommandRunner} from './command-runner.js'
import type {Endpoint} from './balancer.js'

export function ssArgv(backend: Endpoint): string[] {
  return ['ss', '-Htn', 'state', 'established', 'sport', '=', `:${backend.port}`]
}

/** Counts lines of `ss -Htn state established …` whose local address is the backend. */
export function countSsLines(output: string, backend: Endpoint): number {
  const local = new Set([`${backend.host}:${backend.port}`, `[::ffff:${backend.host}]:${backend.port}`])
  let count = 0
  for (const line of output.split('\n')) {
    // With a state filter, ss prints: Recv-Q Send-Q Local:Port Peer:Port [Process]
    const fields = line.trim().split(/\s+/)
    if (fields.length >= 4 && local.has(fields[2])) count++
  }
  return count
}

/** The count, or undefined when `ss` could not be run (the balancer then cannot tell). */
export async function establishedTo(run: CommandRunner, backend: Endpoint): Promise<number | undefined> {
  const result = await run(ssArgv(backend))
  if (result.code !== 0) return undefined
  return countSsLines(result.stdout, backend)
}
