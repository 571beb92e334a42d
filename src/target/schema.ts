/**
 * The target's shape, checked with zod on the value parsed from YAML. `template` mode checks a
 * target as written (placeholders kept: a value holding a `${NAME}` skips its format check);
 * `resolved` mode re-checks formats after secrets are substituted.
 */
import {z} from 'zod'
import {healthBlockIssues, healthSpecOf, healthTuningShape} from '../health/policy.js'
import {memorySizeProblem} from './memory-size.js'
import {hostPortProblem, nameProblem} from './rules.js'
import {hasPlaceholder, invalidPlaceholderIn} from './substitute.js'

export interface ResourceRef {
  id: string
  file: string
}
/** As written; durations in canonical spelling ("500ms", "2s", "1m"). Defaults: health/policy.ts. */
export interface HealthSpec {
  kind?: 'http' | 'tcp' | 'exec'
  service?: string
  path?: string
  command?: string[]
  interval?: string
  timeout?: string
  failureThreshold?: number
  successThreshold?: number
  startupDeadline?: string
}
export interface ProcessSpec {
  name: string
  command: string[]
  env: Record<string, string>
  cwd?: string
  uid?: string
  gid?: string
  before?: string
  resources: ResourceRef[]
  receives: string[]
  health?: HealthSpec
  /** e.g. "256M": the most RAM the instance may use (swap included) before the OOM killer ends it. */
  memoryMax?: string
}
export interface ServiceSpec {
  name: string
  on: string
}
export interface Target {
  processes: ProcessSpec[]
  services: ServiceSpec[]
}

export type Mode = 'template' | 'resolved'

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Short description of a parsed YAML value, for "got ..." in messages. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a map'
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  return `${typeof value} ${String(value)}`
}

/** `"x is required"` when missing, else `"x must be <expected> (got ...)"`; only for type errors. */
const typeError =
  (what: string, expected: string, extra = '') =>
  (issue: {code?: string; input?: unknown}): string | undefined => {
    if (issue.code !== 'invalid_type' && issue.code !== 'invalid_union') return undefined
    if (issue.input === undefined) return `${what} is required`
    return `${what} must be ${expected} (got ${describeValue(issue.input)}${extra})`
  }

/**
 * A string that may hold placeholders. Format messages never quote the value: after substitution
 * it may contain a secret.
 */
function text(mode: Mode, what: string, check?: (value: string) => string | undefined) {
  return z.string({error: typeError(what, 'a string')}).superRefine((value, ctx) => {
    // systemd takes these over D-Bus, whose strings cannot carry NUL.
    if (value.includes('\0')) return ctx.addIssue({code: 'custom', message: `${what} must not contain a NUL character`})
    if (mode === 'template') {
      const bad = invalidPlaceholderIn(value)
      if (bad !== undefined) {
        const rule = 'use ${NAME} with NAME made of letters, digits and "_", or write "$${" for a literal "${"'
        ctx.addIssue({code: 'custom', message: `${describeValue(bad)} is not a valid placeholder: ${rule}`})
        return
      }
      if (hasPlaceholder(value)) return
    }
    const problem = check?.(value)
    if (problem) ctx.addIssue({code: 'custom', message: problem})
  })
}

/** Strings, or numbers/booleans taken as strings (the loader keeps their YAML spelling). */
function scalarText(mode: Mode, what: string, check?: (value: string) => string | undefined, extra = '') {
  return z
    .union([z.string(), z.number(), z.boolean()], {error: typeError(what, 'a string', extra)})
    .transform(String)
    .pipe(text(mode, what, check))
}

function userOrGroup(mode: Mode, what: 'uid' | 'gid') {
  const kind = what === 'uid' ? 'user' : 'group'
  return z
    .union([z.string(), z.number()], {error: typeError(what, `a ${kind} name or number`)})
    .transform(String)
    .pipe(
      text(mode, what, (value) =>
        /^(?:\d+|[A-Za-z_][A-Za-z0-9_.-]*\$?)$/.test(value) && value.length <= 256
          ? undefined
          : `${what} must be a ${kind} name like "www-data" or a number`,
      ),
    )
}

function name(kind: 'process' | 'service') {
  return z.string({error: typeError(`${kind} name`, 'a string')}).superRefine((value, ctx) => {
    const problem = nameProblem(kind, value)
    if (problem) ctx.addIssue({code: 'custom', message: problem})
  })
}

const mapError = (what: string) => typeError(what, 'a map')
const listError = (what: string, example: string) => typeError(what, `a list, e.g. ${example}`)

function envSchema(mode: Mode) {
  const key = z.string().superRefine((name, ctx) => {
    if (ENV_KEY.test(name) && name !== '__proto__') return
    const message = `env names are letters, digits and "_", not starting with a digit (got ${JSON.stringify(name)})`
    ctx.addIssue({code: 'custom', message})
  })
  const value = scalarText(mode, 'env values', undefined, '; write "" for an empty value')
  return z.record(key, value, {error: mapError('env')})
}

export function processSchema(mode: Mode) {
  const resource = z.strictObject(
    {
      id: scalarText(mode, 'resource id', (v) =>
        /^[0-9a-f]+$/.test(v) ? undefined : 'resource ids are lowercase hexadecimal, as printed by `launcho resource up`',
      ),
      file: text(mode, 'resource file', (v) =>
        v === '' || v === '.' || v === '..' || /[/\0]/.test(v)
          ? 'resource file must be a plain file name like "bundle.tar.bz2" (no "/", not "." or "..")'
          : undefined,
      ),
    },
    {error: mapError('each resource')},
  )
  const healthCommandExample = '["/usr/local/bin/check"]'
  const health = z
    .strictObject(
      {
        service: z.string({error: typeError('health.service', 'a service name')}).optional(),
        path: text(mode, 'health.path', (v) =>
          /^\/\S*$/.test(v) ? undefined : 'health.path must start with "/" and have no spaces, e.g. "/health"',
        ).optional(),
        command: z
          .array(text(mode, 'health.command items'), {error: listError('health.command', healthCommandExample)})
          .min(1, {error: `health.command must not be empty, e.g. ${healthCommandExample}`})
          .optional(),
        ...healthTuningShape,
      },
      {error: mapError('health')},
    )
    .superRefine((h, ctx) => {
      for (const issue of healthBlockIssues(h)) ctx.addIssue({code: 'custom', ...issue})
    })
    .transform(healthSpecOf)
  const commandExample = '["node", "server.js"]'
  return z
    .strictObject(
      {
        name: name('process'),
        command: z
          .array(text(mode, 'command items'), {
            error: (issue) =>
              issue.code === 'invalid_type' && typeof issue.input === 'string'
                ? `command must be a list, e.g. ${commandExample}`
                : listError('command', commandExample)(issue),
          })
          .min(1, {error: `command must not be empty, e.g. ${commandExample}`}),
        env: envSchema(mode).optional(),
        cwd: text(mode, 'cwd', (v) =>
          v.startsWith('/') ? undefined : 'cwd must be an absolute path, e.g. "/srv/web"',
        ).optional(),
        uid: userOrGroup(mode, 'uid').optional(),
        gid: userOrGroup(mode, 'gid').optional(),
        before: text(mode, 'before').optional(),
        resources: z.array(resource, {error: listError('resources', '[{id: "...", file: "b.tar.bz2"}]')}).optional(),
        receives: z
          .array(z.string({error: typeError('receives items', 'service names')}), {error: listError('receives', '["web"]')})
          .optional(),
        health: health.optional(),
        memoryMax: z
          .union([z.string(), z.number()], {error: typeError('memoryMax', 'a size like "256M"')})
          .transform(String)
          .superRefine((value, ctx) => {
            const problem = memorySizeProblem(value)
            if (problem) ctx.addIssue({code: 'custom', message: problem})
          })
          .optional(),
      },
      {error: mapError('each process')},
    )
    .transform(
      (p): ProcessSpec => ({
        name: p.name,
        command: p.command,
        env: p.env ?? {},
        ...(p.cwd === undefined ? {} : {cwd: p.cwd}),
        ...(p.uid === undefined ? {} : {uid: p.uid}),
        ...(p.gid === undefined ? {} : {gid: p.gid}),
        ...(p.before === undefined ? {} : {before: p.before}),
        resources: p.resources ?? [],
        receives: p.receives ?? [],
        ...(p.health === undefined ? {} : {health: p.health}),
        ...(p.memoryMax === undefined ? {} : {memoryMax: p.memoryMax}),
      }),
    )
}

export const serviceSchema = z.strictObject(
  {
    name: name('service'),
    on: z.string({error: typeError('on', 'HOST:PORT, e.g. "127.0.0.1:5000"')}).superRefine((address, ctx) => {
      const problem = hostPortProblem(address)
      if (problem) ctx.addIssue({code: 'custom', message: problem})
    }),
  },
  {error: mapError('each service')},
)

const built = new Map<Mode, ReturnType<typeof buildTargetSchema>>()

export function targetSchema(mode: Mode) {
  let schema = built.get(mode)
  if (!schema) built.set(mode, (schema = buildTargetSchema(mode)))
  return schema
}

function buildTargetSchema(mode: Mode) {
  return z
    .strictObject(
      {
        processes: z.array(processSchema(mode), {error: listError('processes', '[{name: "web", command: [...]}]')}).nullish(),
        services: z.array(serviceSchema, {error: listError('services', '[{name: "web", on: "127.0.0.1:5000"}]')}).nullish(),
      },
      {error: mapError('the target')},
    )
    .transform((t): Target => ({processes: t.processes ?? [], services: t.services ?? []}))
}

/** Keys allowed in the map at `path`, for "unknown key" messages. */
export function allowedKeysAt(path: ReadonlyArray<string | number>): string[] {
  const shape = path.map((p) => (typeof p === 'number' ? '#' : p)).join('/')
  const keys: Record<string, string[]> = {
    '': ['processes', 'services'],
    'processes/#': ['name', 'command', 'env', 'cwd', 'uid', 'gid', 'before', 'resources', 'receives', 'health', 'memoryMax'],
    'processes/#/resources/#': ['id', 'file'],
    'processes/#/health': [
      'service',
      'path',
      'kind',
      'command',
      'interval',
      'timeout',
      'failureThreshold',
      'successThreshold',
      'startupDeadline',
    ],
    'services/#': ['name', 'on'],
  }
  return keys[shape] ?? []
}
