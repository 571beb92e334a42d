/**
 * Secret placeholders in target values: `${NAME}` is replaced by the secret's value, `$${` is a
 * literal `${`. Substitution works on parsed string values, in a single pass, so a secret can
 * neither change the YAML structure nor pull in another secret.
 */
import {limitsOf} from './limits.js'
import {HOOK_NAMES, type HealthSpec, type ProcessHooks, type ProcessSpec, type Target} from './schema.js'

export type TemplatePart =
  | {kind: 'text'; text: string}
  | {kind: 'secret'; name: string}
  /** A `${` that does not start a valid placeholder, e.g. `${FOO:-x}` or an unterminated `${FOO`. */
  | {kind: 'invalid'; text: string}

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/y

/** Splits a value into literal text and placeholders. */
export function parseTemplate(value: string): TemplatePart[] {
  const parts: TemplatePart[] = []
  let text = ''
  let start = 0
  const flush = (end: number, extra = ''): void => {
    text += value.slice(start, end) + extra
  }
  for (let i = value.indexOf('$'); i !== -1; i = value.indexOf('$', i)) {
    if (value.startsWith('$${', i)) {
      flush(i, '${')
      start = i += 3
      continue
    }
    if (!value.startsWith('${', i)) {
      i += 1
      continue
    }
    flush(i)
    if (text) parts.push({kind: 'text', text})
    text = ''
    PLACEHOLDER.lastIndex = i
    const match = PLACEHOLDER.exec(value)
    if (match) {
      parts.push({kind: 'secret', name: match[1]})
      start = i += match[0].length
    } else {
      const close = value.indexOf('}', i)
      const end = close === -1 ? value.length : close + 1
      parts.push({kind: 'invalid', text: value.slice(i, end)})
      start = i = end
    }
  }
  flush(value.length)
  if (text) parts.push({kind: 'text', text})
  return parts
}

/** Secret names used by one value, in order of first use. */
export function placeholdersIn(value: string): string[] {
  const names = parseTemplate(value).flatMap((part) => (part.kind === 'secret' ? [part.name] : []))
  return [...new Set(names)]
}

export function hasPlaceholder(value: string): boolean {
  return value.includes('${') && placeholdersIn(value).length > 0
}

/** The first malformed `${...}` in a value, if any. */
export function invalidPlaceholderIn(value: string): string | undefined {
  if (!value.includes('${')) return undefined
  const bad = parseTemplate(value).find((part) => part.kind === 'invalid')
  return bad?.kind === 'invalid' ? bad.text : undefined
}

/** Replaces placeholders in one value; unset secrets are left as-is and listed in `missing`. */
export function substituteString(
  value: string,
  secrets: ReadonlyMap<string, string>,
): {value: string; missing: string[]} {
  if (!value.includes('${')) return {value, missing: []}
  const missing: string[] = []
  const out = parseTemplate(value).map((part) => {
    if (part.kind === 'text' || part.kind === 'invalid') return part.text
    const secret = secrets.get(part.name)
    if (secret === undefined) {
      missing.push(part.name)
      return '${' + part.name + '}'
    }
    return secret
  })
  return {value: out.join(''), missing}
}

export type FieldPath = Array<string | number>

/**
 * Rebuilds a process with `fn` applied to every substitutable string value (command items, env
 * values, cwd, uid, gid, before, resource id/file, health path and command, credential values), giving each value's
 * field path. Names, env keys, credential names, sandbox, maxExposure, receives, health.service, health tuning, memoryMax, replicas and maxSurge are never substituted.
 * values, cwd, uid, gid, before, resource id/file, health path and command), giving each value's
 * field path. Names, env keys, receives, health.service, health tuning, memoryMax, replicas, maxSurge, the limits and the systemd map are never substituted.
 */
export function mapProcessStrings(
  process: ProcessSpec,
  at: FieldPath,
  fn: (value: string, path: FieldPath) => string,
): ProcessSpec {
  const optional = (key: 'cwd' | 'uid' | 'gid' | 'before') =>
    process[key] === undefined ? {} : {[key]: fn(process[key], [...at, key])}
  return {
    name: process.name,
    command: process.command.map((arg, i) => fn(arg, [...at, 'command', i])),
    env: Object.fromEntries(Object.entries(process.env).map(([key, value]) => [key, fn(value, [...at, 'env', key])])),
    ...optional('cwd'),
    ...optional('uid'),
    ...optional('gid'),
    ...optional('before'),
    resources: process.resources.map((resource, i) => ({
      id: fn(resource.id, [...at, 'resources', i, 'id']),
      file: fn(resource.file, [...at, 'resources', i, 'file']),
    })),
    receives: [...process.receives],
    ...(process.health ? {health: mapHealthStrings(process.health, [...at, 'health'], fn)} : {}),
    ...(process.memoryMax !== undefined ? {memoryMax: process.memoryMax} : {}),
    ...(process.replicas !== undefined ? {replicas: process.replicas} : {}),
    ...(process.maxSurge !== undefined ? {maxSurge: process.maxSurge} : {}),
    ...(process.sandbox !== undefined ? {sandbox: process.sandbox} : {}),
    ...(process.memoryDenyWriteExecute !== undefined ? {memoryDenyWriteExecute: process.memoryDenyWriteExecute} : {}),
    ...(process.dynamicUser !== undefined ? {dynamicUser: process.dynamicUser} : {}),
    ...(process.credentials !== undefined
      ? {credentials: Object.fromEntries(Object.entries(process.credentials).map(([key, value]) => [key, fn(value, [...at, 'credentials', key])]))}
      : {}),
    ...(process.maxExposure !== undefined ? {maxExposure: process.maxExposure} : {}),
    ...limitsOf(process),
    ...(process.systemd !== undefined ? {systemd: {...process.systemd}} : {}),
    ...(process.hooks !== undefined ? {hooks: mapHookStrings(process.hooks, [...at, 'hooks'], fn)} : {}),
  }
}

function mapHookStrings(hooks: ProcessHooks, at: FieldPath, fn: (value: string, path: FieldPath) => string): ProcessHooks {
  const mapped: ProcessHooks = {}
  for (const key of HOOK_NAMES) {
    const argv = hooks[key]
    if (argv !== undefined) mapped[key] = argv.map((arg, i) => fn(arg, [...at, key, i]))
  }
  return mapped
}

function mapHealthStrings(
  health: HealthSpec,
  at: FieldPath,
  fn: (value: string, path: FieldPath) => string,
): HealthSpec {
  const {path, command} = health
  return {
    ...health,
    ...(path === undefined ? {} : {path: fn(path, [...at, 'path'])}),
    ...(command === undefined ? {} : {command: command.map((arg, i) => fn(arg, [...at, 'command', i]))}),
  }
}

export interface MissingSecretUse {
  secret: string
  path: FieldPath
}

/** Substitutes secrets in every process. Services hold no placeholders and are copied as-is. */
export function substituteTarget(
  target: Target,
  secrets: ReadonlyMap<string, string>,
): {target: Target; missing: MissingSecretUse[]} {
  const missing: MissingSecretUse[] = []
  const processes = target.processes.map((process, i) =>
    mapProcessStrings(process, ['processes', i], (value, path) => {
      const result = substituteString(value, secrets)
      for (const secret of result.missing) missing.push({secret, path})
      return result.value
    }),
  )
  // Named commands are substituted like a process's command (and refused the same way when a secret is missing).
  const commands =
    target.commands === undefined
      ? {}
      : {
          commands: Object.fromEntries(
            Object.entries(target.commands).map(([name, {process, command}]) => [
              name,
              {
                process,
                command: command.map((arg, i) => {
                  const result = substituteString(arg, secrets)
                  for (const secret of result.missing) missing.push({secret, path: ['commands', name, 'command', i]})
                  return result.value
                }),
              },
            ]),
          ),
        }
  return {target: {processes, services: target.services.map((s) => ({...s})), ...commands}, missing}
}

/**
 * Which secrets each process uses, by process name (every process is listed, possibly with an
 * empty set). Takes a validated target (`validateTarget(text)`), placeholders kept.
 */
export function secretsUsedBy(target: Target): Map<string, Set<string>> {
  const used = new Map<string, Set<string>>()
  target.processes.forEach((process, i) => {
    const names = new Set<string>()
    mapProcessStrings(process, ['processes', i], (value) => {
      for (const name of placeholdersIn(value)) names.add(name)
      return value
    })
    used.set(process.name, names)
  })
  return used
}

/** Every secret name a validated target uses. */
export function secretNamesIn(target: Target): Set<string> {
  const names = new Set<string>()
  for (const perProcess of secretsUsedBy(target).values()) for (const name of perProcess) names.add(name)
  return names
}
