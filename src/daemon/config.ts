/**
 * The server's configuration: defaults, overridden by a YAML config file, overridden by flags.
 * Unknown keys are rejected so a typo never silently means "default".
 */
import {readFile} from 'node:fs/promises'
import {parse} from 'yaml'
import {z} from 'zod'
import {LaunchoError} from '../errors.js'
import {MAX_WORKERS} from '../lb/proxy/config.js'
import {SANDBOX_PRESETS} from '../systemd/sandbox-presets.js'

export const configSchema = z.strictObject({
  stateDir: z.string().min(1).default('/var/lib/launcho'),
  /**
   * Each instance's env file (secrets included), a directory of its own made 0700; default
   * <stateDir>/environments. systemd must see it at the same path as the server.
   */
  environmentsDir: z.string().regex(/^\//, 'must be an absolute path').optional(),
  listen: z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'must be HOST:PORT').default('0.0.0.0:12888'),
  /** Root directory whose journal holds the processes' logs (a sandbox's /proc/<pid>/root). */
  journalRoot: z.string().min(1).optional(),
  /** Periodic resync on top of systemd signals. */
  resyncSeconds: z.number().positive().max(3600).default(10),
  /** systemd's restart delay for an instance that dies (launcho's backoff takes over for loops). */
  restartDelayMs: z.number().int().min(0).max(600_000).default(100),
  /** A `beforeStop` hook may take this long, then SIGTERM, then SIGKILL after this long. */
  stopTimeoutSeconds: z.number().positive().max(3600).default(10),
  /** How long each step of a start may take: `before`, the exec, `afterStart`. */
  startTimeoutSeconds: z.number().positive().max(86_400).default(300),
  /** auto = ipvs where the kernel has it, else nftables, else the userspace proxy. */
  lb: z.enum(['auto', 'ipvs', 'nftables', 'userspace']).default('auto'),
  /** Threads of the userspace proxy (lb: userspace); 0 = half the CPUs, at least 1. */
  proxyWorkers: z.number().int().min(0).max(MAX_WORKERS).default(0),
  /** Where SERVICE_PORT_<NAME> ports come from. */
  portRange: z
    .string()
    .regex(/^\d{1,5}-\d{1,5}$/, 'must be FIRST-LAST, e.g. 20000-29999')
    .refine((range) => {
      const [first, last] = range.split('-').map(Number) as [number, number]
      return first >= 1024 && last <= 65535 && first <= last
    }, 'must lie within 1024-65535, first <= last')
    .default('20000-29999'),
  /** How long a draining instance may keep its connections before it is stopped. */
  drainTimeoutSeconds: z.number().min(0).max(3600).default(30),
  /** Releases kept for history and rollback (their resources are kept too). */
  releases: z.number().int().min(1).max(1000).default(20),
  /**
   * The sandbox of a process whose target names none. `none` by default: a stricter default would
   * change (and could break) every running process at the server's upgrade.
   */
  sandbox: z.enum(SANDBOX_PRESETS).default('none'),
  /** The worst exposure (systemd-analyze security, 0–10) a process without its own maxExposure may have. */
  maxExposure: z.number().min(0).max(10).optional(),
})

export type ServerConfig = z.infer<typeof configSchema>

export async function loadConfig(file: string | undefined, overrides: Partial<ServerConfig>): Promise<ServerConfig> {
  let fromFile: unknown = {}
  if (file) {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (error) {
      throw new LaunchoError('invalid_request', `cannot read the config file ${file}: ${(error as Error).message}`, {
        hint: 'pass an existing file with --config, or leave it out to use the defaults',
      })
    }
    fromFile = parse(text) ?? {}
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined))
  const parsed = configSchema.safeParse({...(fromFile as object), ...defined})
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => ({field: issue.path.join('.'), message: issue.message}))
    throw new LaunchoError('invalid_request', `invalid server configuration${file ? ` in ${file}` : ''}: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, {
      problems,
      hint: 'see templates/config.yaml for every key and its default',
    })
  }
  return parsed.data
}

export function portRangeOf(config: ServerConfig): {first: number; last: number} {
  const [first, last] = config.portRange.split('-').map(Number) as [number, number]
  return {first, last}
}

export function splitHostPort(listen: string): {host: string; port: number} {
  const at = listen.lastIndexOf(':')
  return {host: listen.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(listen.slice(at + 1))}
}
