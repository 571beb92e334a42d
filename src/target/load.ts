/**
 * Reads a target from YAML text: syntax, shape (zod), cross-references, then secrets. Every
 * problem is reported with the line, column and field path of the offending YAML node.
 */
import {Composer, isAlias, type Alias, isMap, isNode, isScalar, isSeq, LineCounter, Parser, visit, type CST, type Document, type Node} from 'yaml'
import type {z} from 'zod'
import {LaunchoError, formatProblem, type Problem} from '../errors.js'
import {allowedKeysAt, targetSchema, type Mode, type Target} from './schema.js'
import {substituteTarget, type FieldPath} from './substitute.js'

export type {HealthSpec, ProcessSpec, ResourceRef, ServiceSpec, Target} from './schema.js'

export const MAX_TARGET_BYTES = 1024 * 1024
const MAX_ALIASES = 100
/** Far above what a valid target needs (6 levels); deep input would overflow yaml's recursive composer. */
const MAX_DEPTH = 64
const MAX_PROBLEMS = 100

/** A problem before it is given a position: `at: 'key'` points at the key rather than its value. */
interface FieldIssue {
  path: FieldPath
  message: string
  at?: 'key'
}

interface Parsed {
  doc: Document.Parsed
  lines: LineCounter
  value: unknown
}

/** Validates structure only (placeholders kept). Throws LaunchoError('invalid_target'). */
export function validateTarget(text: string): Target {
  return check(parse(text), 'template')
}

/** Validates and substitutes secrets. Throws LaunchoError('invalid_target' | 'missing_secret'). */
export function loadTarget(text: string, secrets: ReadonlyMap<string, string>): Target {
  const parsed = parse(text)
  const {target, missing} = substituteTarget(check(parsed, 'template'), secrets)
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
  return check({...parsed, value: target}, 'resolved')
}

function check(parsed: Parsed, mode: Mode): Target {
  const result = targetSchema(mode).safeParse(parsed.value)
  const issues = result.success ? [] : result.error.issues.flatMap(fromZod)
  if (mode === 'template') issues.push(...crossCheck(parsed.value))
  // Only substituted values can fail now; the value itself is not shown, it may hold a secret.
  else for (const issue of issues) issue.message += ' (after substituting secrets)'
  if (result.success && issues.length === 0) return result.data
  throw invalid(issues.map((issue) => problemAt(parsed, issue)))
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
  const at = issue.code === 'custom' && issue.params?.at === 'key' ? 'key' : undefined
  return [{path, message: issue.message, ...(at ? {at} : {})}]
}

/** References between entries: unique names, receives naming declared services, and so on. */
function crossCheck(value: unknown): FieldIssue[] {
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
        issues.push({path: where, message: `${what} ${JSON.stringify(v)} is already used by ${formatPath([...path, first])}`})
      }
    })
  }
  const processes = list(field(value, 'processes'))
  const services = list(field(value, 'services'))
  const declared = new Set(services.map((s) => field(s, 'name')).filter((n) => typeof n === 'string'))
  unique(['processes'], processes, 'process name', 'name')
  unique(['services'], services, 'service name', 'name')
  unique(['services'], services, 'address', 'on')
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

function invalid(problems: Problem[]): LaunchoError {
  const sorted = sortProblems(problems)
  const shown = sorted.slice(0, MAX_PROBLEMS)
  if (sorted.length > MAX_PROBLEMS) shown.push({message: `and ${sorted.length - MAX_PROBLEMS} more problems`})
  const message =
    shown.length === 1
      ? `invalid target: ${formatProblem(shown[0])}`
      : `invalid target (${sorted.length} problems):\n${shown.map((p) => `  ${formatProblem(p)}`).join('\n')}`
  return new LaunchoError('invalid_target', message, {problems: shown})
}

function sortProblems(problems: Problem[]): Problem[] {
  return [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0))
}

function problemAt(parsed: Parsed, issue: FieldIssue): Problem {
  const node = locate(parsed.doc, issue.path, issue.at)
  return {...position(parsed.lines, node?.range?.[0] ?? 0), field: formatPath(issue.path), message: issue.message}
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

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
