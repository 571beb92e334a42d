/**
 * Reads a target from YAML text: syntax, shape (zod), cross-references, then secrets. All
 * problems are reported together, each with the line, column and field path of its YAML node.
 */
import type {z} from 'zod'
import {LaunchoError, type Problem} from '../errors.js'
import {labelledField} from './field-label.js'
import {crossCheck, formatPath, type FieldIssue} from './rules.js'
import {allowedKeysAt, targetSchema, type Mode, type Target} from './schema.js'
import {substituteTarget} from './substitute.js'
import {positionAt, readYaml, type YamlSource} from './yaml-source.js'

export type {HealthSpec, ProcessSpec, ResourceRef, ServiceSpec, Target} from './schema.js'
export {MAX_TARGET_BYTES} from './yaml-source.js'

const MAX_PROBLEMS = 100
/** One host; far more than it can sensibly run, few enough to validate and diff at once. */
export const MAX_PROCESSES = 1000
export const MAX_SERVICES = 1000

/** Validates structure only (placeholders kept). Throws LaunchoError('invalid_target'). */
export function validateTarget(text: string): Target {
  return check(parse(text), 'template')
}

/** Validates and substitutes secrets. Throws LaunchoError('invalid_target' | 'missing_secret'). */
export function loadTarget(text: string, secrets: ReadonlyMap<string, string>): Target {
  return loadTargetWithTemplate(text, secrets).resolved
}

/** Line and column of a field, by its formatted path (`processes[0].uid`). */
export type FieldPositions = Record<string, {line: number; column: number}>

export interface LoadedTarget {
  /** As written, placeholders kept. */
  template: Target
  /** Secrets substituted. */
  resolved: Target
  /**
   * Where the fields that only the server can judge are (names, users, groups, maxExposure,
   * resource ids, service addresses): those checks run after loading, possibly outside the thread that holds the YAML.
   */
  positions: FieldPositions
}

/** loadTarget, also returning the target as written (placeholders kept), from one parse. */
export function loadTargetWithTemplate(text: string, secrets: ReadonlyMap<string, string>): LoadedTarget {
  const parsed = parse(text)
  const template = check(parsed, 'template')
  const {target, missing} = substituteTarget(template, secrets)
  if (missing.length > 0) {
    const names = [...new Set(missing.map((use) => use.secret))]
    const problems = missing.map((use) => problemAt(parsed, {path: use.path, message: `secret "${use.secret}" is not set`}))
    const message =
      names.length === 1
        ? `secret "${names[0]}" is not set`
        : `secrets ${names.map((n) => `"${n}"`).join(', ')} are not set`
    const hint = names.map((n) => `launcho secret set ${n} VALUE`).join('; ')
    throw new LaunchoError('missing_secret', message, {hint, problems: sortProblems(problems)})
  }
  // Substituted values get their format checks now (e.g. a cwd that was "${APP_DIR}").
  const resolved = check({...parsed, value: target}, 'resolved', template)
  return {template, resolved, positions: serverCheckedPositions(parsed, template)}
}

function serverCheckedPositions(source: YamlSource, template: Target): FieldPositions {
  const positions: FieldPositions = {}
  const add = (path: Array<string | number>) => (positions[formatPath(path)] = positionAt(source, path))
  template.processes.forEach((process, i) => {
    add(['processes', i, 'name'])
    for (const key of ['uid', 'gid', 'maxExposure'] as const) if (process[key] !== undefined) add(['processes', i, key])
    process.resources.forEach((_, j) => add(['processes', i, 'resources', j, 'id']))
  })
  template.services.forEach((_, i) => add(['services', i, 'on']))
  return positions
}

function parse(text: string): YamlSource {
  const source = readYaml(text)
  if ('problems' in source) throw invalidTarget(source.problems)
  return source
}

/** `template` (resolved mode): the target as written, to name the secrets a bad value came from. */
function check(parsed: YamlSource, mode: Mode, template?: Target): Target {
  const tooMany = mode === 'template' ? tooManyEntries(parsed) : undefined
  if (tooMany) throw invalidTarget([tooMany])
  const result = targetSchema(mode).safeParse(parsed.value)
  const issues = result.success ? [] : result.error.issues.flatMap(fromZod)
  if (mode === 'template') issues.push(...crossCheck(parsed.value))
  if (result.success && issues.length === 0) return result.data
  // Only substituted values can fail in resolved mode: their messages never show the value, and
  // the field names the secrets it came from.
  throw invalidTarget(issues.map((issue) => problemAt(parsed, issue, template)))
}

/** Refused before the schema runs, which would report every one of 30 000 duplicate names. */
function tooManyEntries(parsed: YamlSource): Problem | undefined {
  const value = parsed.value as Record<string, unknown>
  for (const [key, limit] of [['processes', MAX_PROCESSES], ['services', MAX_SERVICES]] as const) {
    const list = value?.[key]
    if (!Array.isArray(list) || list.length <= limit) continue
    const message = `${list.length} ${key}; the limit is ${limit} per server`
    return {...positionAt(parsed, [key, limit]), field: `${key}[${limit}]`, message}
  }
  return undefined
}

function fromZod(issue: z.core.$ZodIssue): FieldIssue[] {
  const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)))
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeysAt(path)
    return issue.keys.map((key) => {
      const close = allowed.find((candidate) => editDistance(candidate, key) <= Math.min(2, key.length / 3))
      const advice = close ? `did you mean "${close}"?` : `allowed: ${allowed.join(', ')}`
      return {path: [...path, key], at: 'key' as const, message: `unknown key "${key}" (${advice})`}
    })
  }
  // A bad record key (an env name): its own check's message, pointing at the key.
  if (issue.code === 'invalid_key') return [{path, at: 'key', message: issue.issues[0]?.message ?? issue.message}]
  return [{path, message: issue.message}]
}

export function invalidTarget(problems: Problem[]): LaunchoError {
  const sorted = sortProblems(problems)
  const shown = sorted.slice(0, MAX_PROBLEMS)
  if (sorted.length > MAX_PROBLEMS) shown.push({message: `and ${sorted.length - MAX_PROBLEMS} more problems`})
  // The problems travel separately so each client can prefix them with its own file name.
  const message = sorted.length === 1 ? 'invalid target' : `invalid target (${sorted.length} problems)`
  return new LaunchoError('invalid_target', message, {problems: shown})
}

function sortProblems(problems: Problem[]): Problem[] {
  return [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0))
}

function problemAt(source: YamlSource, issue: FieldIssue, template?: Target): Problem {
  const field = template ? labelledField(template, issue.path) : formatPath(issue.path)
  return {...positionAt(source, issue.path, issue.at), field, message: issue.message}
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]
}
