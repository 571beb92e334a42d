/**
 * The target's shape, checked with zod on the value parsed from YAML. `template` mode checks a
 * target as written (placeholders kept: a value holding a `${NAME}` skips its format check);
 * `resolved` mode re-checks formats after secrets are substituted.
 */
import {z} from 'zod'
import {healthBlockIssues, healthSpecOf, healthTuningShape} from '../health/policy.js'
import {controlCharacterIn, type ControlRule} from './control-characters.js'
import {describeValue} from './describe-value.js'
import {limitIssues, limitsOf, limitsShape, LIMIT_KEYS, type ProcessLimits} from './limits.js'
import {memorySizeProblem} from './memory-size.js'
import {hostPortProblem, nameProblem} from './rules.js'
import {hasPlaceholder, invalidPlaceholderIn} from './substitute.js'
import {systemdMapSchema, type SystemdMap} from './systemd-map.js'
import {cwdProblem, numericIdProblem, programProblem} from './systemd-values.js'
import {SANDBOX_PRESETS, type SandboxPreset} from '../systemd/sandbox-presets.js'

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
/**
 * Commands run in the process's environment (its user, env with secrets, resources, sandbox), each
 * one argv. beforeRollout: once per rollout of a new version, in a unit of its own, before any new
 * instance takes traffic (non-zero exit: the rollout fails, the old version keeps serving);
 * afterStart: ExecStartPost= of every instance (failing counts as a failed start); beforeStop:
 * ExecStop= of every instance (before SIGTERM, bounded by the stop timeout).
 */
export interface ProcessHooks {
  beforeRollout?: string[]
  afterStart?: string[]
  beforeStop?: string[]
}
export const HOOK_NAMES = ['beforeRollout', 'afterStart', 'beforeStop'] as const
/** A named one-off command (`launcho run NAME`): an argv run like `launcho run PROCESS -- ARGV`. */
export interface CommandSpec {
  process: string
  command: string[]
}
export interface ProcessSpec extends ProcessLimits {
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
  /** How many instances run at once (default 1); not part of the version: changing it only scales. */
  replicas?: number
  /** How many new replicas a rollout starts above `replicas` at a time (default 1). */
  maxSurge?: number
  /** systemd sandbox preset; absent: the server's default (config `sandbox`). */
  sandbox?: SandboxPreset
  /** MemoryDenyWriteExecute=yes (no JIT: not for Node, Java, .NET). */
  memoryDenyWriteExecute?: boolean
  /** DynamicUser=yes: a user of its own while it runs; its work dir is its StateDirectory (no uid, gid or cwd). */
  dynamicUser?: boolean
  /** Credential name → value (secrets substituted): files in $CREDENTIALS_DIRECTORY, never in the environment. */
  credentials?: Record<string, string>
  /** The worst `systemd-analyze security` exposure its unit may have; absent: the server's (config `maxExposure`). */
  maxExposure?: number
  /** Extra unit properties by their unit-file names, from an allow-list (target/systemd-map.ts). */
  systemd?: SystemdMap
  hooks?: ProcessHooks
}
export interface ServiceSpec {
  name: string
  on: string
}
export interface Target {
  processes: ProcessSpec[]
  services: ServiceSpec[]
  /** Named one-off commands, by name (absent when none are written). */
  commands?: Record<string, CommandSpec>
}

export type Mode = 'template' | 'resolved'

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/
/** A file name systemd accepts as a credential (no "/", not "." or ".."), kept to plain characters. */
const CREDENTIAL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/

export {describeValue}

/** `"x is required"` when missing, else `"x must be <expected> (got ...)"`; only for type errors. */
const typeError =
  (what: string, expected: string, extra = '') =>
  (issue: {code?: string; input?: unknown}): string | undefined => {
    if (issue.code !== 'invalid_type' && issue.code !== 'invalid_union') return undefined
    if (issue.input === undefined) return `${what} is required`
    return `${what} must be ${expected} (got ${describeValue(issue.input)}${extra})`
  }

/** What a value's format check gets: `quote` is false when the value may hold a substituted secret. */
type Check = (value: string, quote: boolean) => string | undefined

/**
 * A string that may hold placeholders. Format messages quote the value only as written (template
 * mode): after substitution it may contain a secret.
 */
function text(mode: Mode, what: string, check?: Check, controls: ControlRule = 'unit') {
  return z.string({error: typeError(what, 'a string')}).superRefine((value, ctx) => {
    // Checked on the literal text too: placeholders themselves never hold one.
    const control = controlCharacterIn(value, controls)
    if (control) {
      const rule = {unit: 'control characters', script: 'control characters other than newlines and tabs', env: 'a NUL character'}[controls]
      return ctx.addIssue({code: 'custom', message: `${what} must not contain ${rule}: found ${control}`})
    }
    if (mode === 'template') {
      const bad = invalidPlaceholderIn(value)
      if (bad !== undefined) {
        const rule = 'use ${NAME} with NAME made of letters, digits and "_", or write "$${" for a literal "${"'
        ctx.addIssue({code: 'custom', message: `${describeValue(bad)} is not a valid placeholder: ${rule}`})
        return
      }
      if (hasPlaceholder(value)) return
    }
    const problem = check?.(value, mode === 'template')
    if (problem) ctx.addIssue({code: 'custom', message: problem})
  })
}

/** Strings, or numbers/booleans taken as strings (the loader keeps their YAML spelling). */
function scalarText(mode: Mode, what: string, check?: Check, extra = '', controls: ControlRule = 'unit') {
  return z
    .union([z.string(), z.number(), z.boolean()], {error: typeError(what, 'a string', extra)})
    .transform(String)
    .pipe(text(mode, what, check, controls))
}

function userOrGroup(mode: Mode, what: 'uid' | 'gid') {
  const kind = what === 'uid' ? 'user' : 'group'
  return z
    .union([z.string(), z.number()], {error: typeError(what, `a ${kind} name or number`)})
    .transform(String)
    .pipe(
      text(mode, what, (value, quote) =>
        /^(?:\d+|[A-Za-z_][A-Za-z0-9_.-]*\$?)$/.test(value) && value.length <= 256
          ? numericIdProblem(what, value, quote)
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
  const value = scalarText(mode, 'env values', undefined, '; write "" for an empty value', 'env')
  return z.record(key, value, {error: mapError('env')})
}

function credentialsSchema(mode: Mode) {
  const key = z.string().superRefine((name, ctx) => {
    if (CREDENTIAL_NAME.test(name)) return
    const message = `credential names are letters, digits, "_", "." and "-", not starting with "." or "-", at most 255 characters (got ${JSON.stringify(name)})`
    ctx.addIssue({code: 'custom', message})
  })
  const value = scalarText(mode, 'credential values', undefined, '; write "" for an empty value', 'env')
  return z.record(key, value, {error: mapError('credentials')})
}

const sandboxSchema = z.enum(SANDBOX_PRESETS, {
  error: (issue) => (issue.input === undefined ? 'sandbox is required' : `sandbox must be one of ${SANDBOX_PRESETS.join(', ')} (got ${describeValue(issue.input)})`),
})

function flag(what: string) {
  return z.boolean({error: (issue) => `${what} must be true or false (got ${describeValue(issue.input)})`})
}

/** An exposure score as systemd-analyze security prints it: 0.0 (confined) to 10.0 (exposed). */
export const exposureLimitSchema = z
  .number({error: (issue) => `maxExposure must be a number from 0 to 10, e.g. 4.0 (got ${describeValue(issue.input)})`})
  .min(0, {error: 'maxExposure must be a number from 0 to 10, e.g. 4.0'})
  .max(10, {error: 'maxExposure must be a number from 0 to 10, e.g. 4.0'})

/** An argv: a non-empty list of strings (its first item is checked with the process, see programIssues). */
function argv(mode: Mode, what: string, example: string, error: Parameters<typeof z.array>[1]) {
  return z.array(text(mode, `${what} items`), error).min(1, {error: `${what} must not be empty, e.g. ${example}`})
}

/** argv[0] of the command and of an exec health check, which systemd must be able to run. */
function programIssues(mode: Mode, process: {command?: unknown; cwd?: unknown; health?: {command?: unknown}}) {
  const cwd = typeof process.cwd === 'string' && !(mode === 'template' && hasPlaceholder(process.cwd)) ? process.cwd : undefined
  const issues: Array<{path: Array<string | number>; message: string}> = []
  for (const [path, list] of [[['command', 0], process.command], [['health', 'command', 0], process.health?.command]] as const) {
    const program = Array.isArray(list) ? list[0] : undefined
    if (typeof program !== 'string' || (mode === 'template' && hasPlaceholder(program))) continue
    const what = path.length === 2 ? 'command[0]' : 'health.command[0]'
    const message = programProblem(what, program, mode === 'template', mode === 'template' ? cwd : undefined)
    if (message) issues.push({path: [...path], message})
  }
  return issues
}

/** Runtimes whose JIT cannot run under MemoryDenyWriteExecute=yes (Node only without --jitless). */
const JIT_RUNTIME = /^(node|nodejs|java|dotnet|bun|deno|pypy3?|luajit)(\d[\d.]*)?$/

/** The JIT runtime a process with memoryDenyWriteExecute runs as its command, if any. */
function jitRuntimeOf(process: {command?: unknown; memoryDenyWriteExecute?: boolean}): string | undefined {
  if (!process.memoryDenyWriteExecute || !Array.isArray(process.command)) return undefined
  const program = process.command[0]
  const name = typeof program === 'string' ? program.slice(program.lastIndexOf('/') + 1) : ''
  if (!JIT_RUNTIME.test(name)) return undefined
  return name.startsWith('node') && process.command.includes('--jitless') ? undefined : name
}

/** Replica indexes must fit the unit name's 1 or 2 digits (src/systemd/unit-name.ts). */
export const MAX_REPLICAS = 100

function wholeNumber(what: string, min: number, max: number) {
  const message = `${what} must be a whole number from ${min} to ${max}`
  return z
    .number({error: (issue) => (issue.input === undefined ? `${what} is required` : `${message} (got ${describeValue(issue.input)})`)})
    .int({error: message})
    .min(min, {error: message})
    .max(max, {error: message})
}

export function processSchema(mode: Mode) {
  const resource = z.strictObject(
    {
      id: scalarText(mode, 'resource id', (v) =>
        /^[0-9a-f]{8,64}$/.test(v)
          ? undefined
          : 'resource ids are 8 to 64 lowercase hex digits: the id `launcho resource up` prints, or a unique prefix of at least 8 of its digits',
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
        command: argv(mode, 'health.command', healthCommandExample, {error: listError('health.command', healthCommandExample)}).optional(),
        ...healthTuningShape,
      },
      {error: mapError('health')},
    )
    .superRefine((h, ctx) => {
      for (const issue of healthBlockIssues(h)) ctx.addIssue({code: 'custom', ...issue})
    })
    .transform(healthSpecOf)
  const commandExample = '["node", "server.js"]'
  const hookExample = '["./migrate", "--up"]'
  const hook = (key: (typeof HOOK_NAMES)[number]) =>
    argv(mode, `hooks.${key}`, hookExample, {error: listError(`hooks.${key}`, hookExample)}).optional()
  const hooks = z.strictObject(
    {beforeRollout: hook('beforeRollout'), afterStart: hook('afterStart'), beforeStop: hook('beforeStop')},
    {error: mapError('hooks')},
  )
  return z
    .strictObject(
      {
        name: name('process'),
        command: argv(mode, 'command', commandExample, {
          error: (issue) =>
            issue.code === 'invalid_type' && typeof issue.input === 'string'
              ? `command must be a list, e.g. ${commandExample}`
              : listError('command', commandExample)(issue),
        }),
        env: envSchema(mode).optional(),
        cwd: text(mode, 'cwd', cwdProblem).optional(),
        uid: userOrGroup(mode, 'uid').optional(),
        gid: userOrGroup(mode, 'gid').optional(),
        before: text(mode, 'before', undefined, 'script').optional(),
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
        replicas: wholeNumber('replicas', 1, MAX_REPLICAS).optional(),
        maxSurge: wholeNumber('maxSurge', 1, MAX_REPLICAS).optional(),
        sandbox: sandboxSchema.optional(),
        memoryDenyWriteExecute: flag('memoryDenyWriteExecute').optional(),
        dynamicUser: flag('dynamicUser').optional(),
        credentials: credentialsSchema(mode).optional(),
        maxExposure: exposureLimitSchema.optional(),
        ...limitsShape,
        systemd: systemdMapSchema.optional(),
        hooks: hooks.optional(),
      },
      {error: mapError('each process')},
    )
    .superRefine((process, ctx) => {
      for (const issue of programIssues(mode, process)) ctx.addIssue({code: 'custom', ...issue})
      const jit = jitRuntimeOf(process)
      if (jit) {
        const message = `${jit} needs writable executable memory for its JIT and dies at start under MemoryDenyWriteExecute (Node 24: SIGTRAP); leave out memoryDenyWriteExecute${jit.startsWith('node') ? ', or run node --jitless' : ''}`
        ctx.addIssue({code: 'custom', path: ['memoryDenyWriteExecute'], message})
      }
      if (process.dynamicUser) {
        for (const key of ['uid', 'gid', 'cwd'] as const) {
          if (process[key] === undefined) continue
          const message = `${key} cannot be set with dynamicUser: true (systemd allocates the user, and its working directory is launcho's); leave out ${key}, or dynamicUser`
          ctx.addIssue({code: 'custom', path: [key], message})
        }
      }
      for (const issue of limitIssues(process)) ctx.addIssue({code: 'custom', ...issue})
    })
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
        ...(p.replicas === undefined ? {} : {replicas: p.replicas}),
        ...(p.maxSurge === undefined ? {} : {maxSurge: p.maxSurge}),
        ...(p.sandbox === undefined ? {} : {sandbox: p.sandbox}),
        ...(p.memoryDenyWriteExecute === undefined ? {} : {memoryDenyWriteExecute: p.memoryDenyWriteExecute}),
        ...(p.dynamicUser ? {dynamicUser: true} : {}),
        ...(p.credentials === undefined || Object.keys(p.credentials).length === 0 ? {} : {credentials: p.credentials}),
        ...(p.maxExposure === undefined ? {} : {maxExposure: p.maxExposure}),
        ...limitsOf(p),
        ...(p.systemd === undefined ? {} : {systemd: p.systemd}),
        ...hooksOf(p.hooks),
      }),
    )
}

/** `{hooks}` with the hooks written, or nothing when none are. */
function hooksOf(hooks: ProcessHooks | undefined): {hooks?: ProcessHooks} {
  const written = Object.fromEntries(HOOK_NAMES.filter((key) => hooks?.[key] !== undefined).map((key) => [key, hooks![key]]))
  return Object.keys(written).length === 0 ? {} : {hooks: written}
}

const COMMAND_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/

function commandsSchema(mode: Mode) {
  const example = '["./manage", "migrate"]'
  const key = z.string().superRefine((name, ctx) => {
    if (COMMAND_NAME.test(name)) return
    ctx.addIssue({code: 'custom', message: `command names are lowercase letters, digits and "-", at most 63 characters, e.g. "migrate" (got ${JSON.stringify(name)})`})
  })
  const entry = z.strictObject(
    {
      process: z.string({error: typeError('process', 'the name of a process of this target')}),
      command: argv(mode, 'command', example, {error: listError('command', example)}),
    },
    {error: mapError('each command')},
  )
  return z.record(key, entry, {error: mapError('commands')})
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
        commands: commandsSchema(mode).nullish(),
      },
      {error: mapError('the target')},
    )
    .transform(
      (t): Target => ({
        processes: t.processes ?? [],
        services: t.services ?? [],
        ...(t.commands && Object.keys(t.commands).length > 0 ? {commands: t.commands} : {}),
      }),
    )
}

/** Keys allowed in the map at `path`, for "unknown key" messages. */
export function allowedKeysAt(path: ReadonlyArray<string | number>): string[] {
  // A command's name is a map key of the user's: any name reads as "*".
  const shape = path.map((p, i) => (typeof p === 'number' ? '#' : path[0] === 'commands' && i === 1 ? '*' : p)).join('/')
  const keys: Record<string, string[]> = {
    '': ['processes', 'services', 'commands'],
    'processes/#': [
      ...['name', 'command', 'env', 'cwd', 'uid', 'gid', 'before', 'resources', 'receives', 'health', 'memoryMax', 'replicas', 'maxSurge', ...LIMIT_KEYS, 'systemd'],
      ...['sandbox', 'memoryDenyWriteExecute', 'dynamicUser', 'credentials', 'maxExposure', 'hooks'],
    ],
    'processes/#/hooks': [...HOOK_NAMES],
    'commands/*': ['process', 'command'],
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
