/**
 * Rules beyond a single value's type: what names and addresses look like, and the references
 * between entries (unique names, receives naming declared services, health on a received one).
 */
import {isIPv4, isIPv6} from 'node:net'
import type {FieldPath} from './substitute.js'

export const NAME_MAX = 63

/** A problem before it is given a position: `at: 'key'` points at the key rather than its value. */
export interface FieldIssue {
  path: FieldPath
  message: string
  at?: 'key'
}

/** Lowercases and replaces runs of other characters by "-": `main_server` → `main-server`. */
export function suggestName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, NAME_MAX)
    .replace(/-+$/, '')
}

export function nameProblem(kind: 'process' | 'service', name: string): string | undefined {
  const ok = /^[a-z0-9-]+$/.test(name)
  // Units of `launcho run` are launcho-run-<process>-<id>.service: a process run-x would share their names.
  if (ok && kind === 'process' && name.startsWith('run-')) {
    return `process names cannot start with "run-" (got ${JSON.stringify(name)}): launcho-run-* units are those of launcho run; try ${JSON.stringify(name.slice(4) || 'app')}`
  }
  if (ok && name.length <= NAME_MAX) return undefined
  const suggestion = suggestName(name)
  const tryIt = suggestion && suggestion !== name ? `; try ${JSON.stringify(suggestion)}` : ''
  if (!ok) return `${kind} names are lowercase letters, digits and "-" (got ${JSON.stringify(name)}${tryIt})`
  return `${kind} names are at most ${NAME_MAX} characters (got ${name.length}${tryIt})`
}

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`)

export function hostPortProblem(value: string): string | undefined {
  const usage = `on must be HOST:PORT, e.g. "127.0.0.1:5000" or "[::1]:5000" (got ${JSON.stringify(value)})`
  const match = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(value)
  if (!match) return isIPv6(value.replace(/:\d+$/, '')) ? `${usage}; put IPv6 addresses in brackets` : usage
  const [, v6, host, port] = match
  if (v6 !== undefined ? !isIPv6(v6) : !(isIPv4(host) || (HOSTNAME.test(host) && !/^[\d.]+$/.test(host)))) {
    return `${usage}; ${JSON.stringify(v6 ?? host)} is not an IP address or host name`
  }
  const n = Number(port)
  if (n < 1 || n > 65535) return `on port must be 1-65535 (got ${port})`
  return undefined
}

/** References between entries: unique names, receives naming declared services, and so on. */
export function crossCheck(value: unknown): FieldIssue[] {
  const issues: FieldIssue[] = []
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])
  const field = (v: unknown, key: string): unknown =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[key] : undefined
  /** Flags entries of the list at `path` whose `key` (or the entry itself) repeats an earlier one. */
  const unique = (path: FieldPath, entries: unknown[], what: string, key?: string) => {
    const seen = new Map<string, number>()
    entries.forEach((entry, i) => {
      const v = key === undefined ? entry : field(entry, key)
      if (typeof v !== 'string') return
      const first = seen.get(v)
      if (first === undefined) seen.set(v, i)
      else {
        const where = [...path, i, ...(key === undefined ? [] : [key])]
        const message = `${what} ${JSON.stringify(v)} is already used by ${formatPath([...path, first])}`
        issues.push({path: where, message})
      }
    })
  }
  const processes = list(field(value, 'processes'))
  const services = list(field(value, 'services'))
  const declared = new Set(services.map((s) => field(s, 'name')).filter((n) => typeof n === 'string'))
  unique(['processes'], processes, 'process name', 'name')
  unique(['services'], services, 'service name', 'name')
  unique(['services'], services, 'address', 'on')
  const processNames = processes.map((p) => field(p, 'name')).filter((n) => typeof n === 'string')
  const commands = field(value, 'commands')
  if (commands !== null && typeof commands === 'object' && !Array.isArray(commands)) {
    for (const [name, command] of Object.entries(commands)) {
      const process = field(command, 'process')
      if (typeof process !== 'string' || processNames.includes(process)) continue
      const known = processNames.length > 0 ? `processes: ${processNames.join(', ')}` : 'the target has no processes'
      issues.push({path: ['commands', name, 'process'], message: `unknown process ${JSON.stringify(process)} (${known})`})
    }
  }
  processes.forEach((process, i) => {
    const at: FieldPath = ['processes', i]
    const receives = list(field(process, 'receives'))
    receives.forEach((service, j) => {
      if (typeof service === 'string' && !declared.has(service)) {
        const known = declared.size > 0 ? `declared: ${[...declared].join(', ')}` : 'no services are declared'
        issues.push({path: [...at, 'receives', j], message: `unknown service ${JSON.stringify(service)} (${known})`})
      }
    })
    unique([...at, 'receives'], receives, 'service')
    unique([...at, 'resources'], list(field(process, 'resources')), 'resource file', 'file')
    const health = field(field(process, 'health'), 'service')
    if (typeof health === 'string' && !receives.includes(health)) {
      issues.push({
        path: [...at, 'health', 'service'],
        message: `health.service ${JSON.stringify(health)} is not in this process's receives; add it to receives`,
      })
    }
  })
  return issues
}

/** `['processes', 1, 'env', 'PORT']` → `processes[1].env.PORT`. */
export function formatPath(path: FieldPath): string {
  return path
    .map((segment, i) => {
      if (typeof segment === 'number') return `[${segment}]`
      if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) return i === 0 ? segment : `.${segment}`
      return `[${JSON.stringify(segment)}]`
    })
    .join('')
}
