/**
 * The auth file format shared with the original launcho: YAML with `host`, `cert`, `private`
 * and `token`. The server keeps its private key in it; the client copy has `private: null`.
 */
import {X509Certificate, createPrivateKey} from 'node:crypto'
import {createRequire} from 'node:module'
import {LaunchoError, formatProblem, type Problem} from '../errors.js'
import {TOKEN_PATTERN} from './token.js'

export interface AuthFile {
  /** `HOST:PORT` the client connects to (IPv6 as `[::1]:12888`). */
  host: string
  /** PEM certificate of the server; the client pins exactly this one. */
  cert: string
  /** PEM private key of the server, or null in a client's copy. */
  private: string | null
  /** 64 hex chars. */
  token: string
}

const HOST_PATTERN = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]/]+):(\d{1,5})$/

/** One field's check: the problem with `value`, or undefined when it is fine. */
type FieldCheck = (value: unknown) => string | undefined

/**
 * Checked by hand, not with zod: nearly every CLI call reads this file, and zod's modules cost the
 * CLI's start-up ~30 ms (the client's other paths do without zod too).
 */
const FIELDS: Array<[keyof AuthFile, FieldCheck]> = [
  [
    'host',
    (value) => {
      if (typeof value !== 'string') return 'must be a string like "server.example.com:12888"'
      if (!HOST_PATTERN.test(value)) return 'must be HOST:PORT, e.g. "server.example.com:12888" or "[::1]:12888"'
      const port = Number(value.slice(value.lastIndexOf(':') + 1))
      return port >= 1 && port <= 65535 ? undefined : 'port must be between 1 and 65535'
    },
  ],
  ['cert', (value) => (typeof value !== 'string' ? 'must be a PEM certificate ("-----BEGIN CERTIFICATE-----" …)' : isCertificate(value) ? undefined : 'is not a readable PEM certificate')],
  ['private', (value) => (value === null ? undefined : typeof value !== 'string' ? 'must be a PEM private key or null' : isPrivateKey(value) ? undefined : 'is not a readable PEM private key')],
  ['token', (value) => (typeof value !== 'string' ? 'must be 64 hex characters' : TOKEN_PATTERN.test(value) ? undefined : 'must be 64 lowercase hex characters (256 bits)')],
]

/** Parses auth-file text; `file` only names the source in error messages. */
export function parseAuthFile(text: string, file: string): AuthFile {
  const data = (canonicalAuthFile(text) ?? readYaml(text, file)) as Record<string, unknown>
  const fields: Record<string, unknown> = {...data, private: data.private ?? null}
  const problems: Problem[] = []
  for (const [field, check] of FIELDS) {
    const value = fields[field]
    const problem = value === undefined ? 'is missing' : check(value)
    if (problem) problems.push({field, message: problem})
  }
  if (problems.length > 0) throw invalidFile(file, problems)
  const {host, cert, private: key, token} = fields as unknown as AuthFile
  return {host, cert: normalizePem(cert), private: key === null ? null : normalizePem(key), token}
}

/**
 * A client file exactly as renderAuthFile writes it (what nearly every CLI call reads), without
 * the YAML parser, whose ~70 modules cost the CLI's start-up ~15 ms: leading comment lines, a
 * plain double-quoted host, the certificate as a literal block indented by two, `private: null`,
 * a bare or quoted token. The value is what YAML reads from such text; anything else (other
 * order, blank lines, CRLF, extra keys) is left to the parser.
 */
const CANONICAL_CLIENT_FILE = /^(?:#[^\n]*\n)*host: "([^"\\\n]*)"\ncert: \|\n((?: {2}[^\s#][^\n]*\n)+)private: null\ntoken: ("?)([0-9a-f]{64})\3\n?$/

function canonicalAuthFile(text: string): Record<string, unknown> | undefined {
  const match = CANONICAL_CLIENT_FILE.exec(text)
  // A bare token of digits (and one e) would be a number to YAML.
  if (!match || (match[3] === '' && /^\d+(?:e\d+)?$/.test(match[4]!))) return undefined
  const cert = match[2]!.replace(/^ {2}/gm, '')
  return {host: match[1]!, cert, private: null, token: match[4]!}
}

function readYaml(text: string, file: string): unknown {
  const {parseDocument} = createRequire(import.meta.url)('yaml') as typeof import('yaml')
  const doc = parseDocument(text, {prettyErrors: false})
  if (doc.errors.length > 0) {
    const problems: Problem[] = doc.errors.map((error) => ({
      line: error.linePos?.[0]?.line,
      column: error.linePos?.[0]?.col,
      message: error.message.split('\n')[0] ?? 'invalid YAML',
    }))
    throw invalidFile(file, problems)
  }
  const data: unknown = doc.toJS()
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw invalidFile(file, [{message: 'expected a mapping with host, cert, private and token'}])
  }
  return data
}

/** Renders an auth file; PEM blocks as YAML literal blocks so they stay readable and diffable. */
export function renderAuthFile(auth: AuthFile, header?: string): string {
  const lines = header ? [`# ${header}`] : []
  lines.push(`host: ${JSON.stringify(auth.host)}`)
  lines.push(`cert: ${literalBlock(auth.cert)}`)
  lines.push(`private: ${auth.private === null ? 'null' : literalBlock(auth.private)}`)
  lines.push(`token: ${auth.token}`)
  return `${lines.join('\n')}\n`
}

export function normalizePem(pem: string): string {
  return `${pem.replace(/\r\n/g, '\n').trim()}\n`
}

function literalBlock(pem: string): string {
  const body = normalizePem(pem)
    .trimEnd()
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n')
  return `|\n${body}`
}

function invalidFile(file: string, problems: Problem[]): LaunchoError {
  const details = problems.map((problem) => formatProblem(problem)).join('; ')
  return new LaunchoError('invalid_request', `invalid auth file ${file}: ${details}`, {
    problems,
    hint: `fix the file, or replace it with the output of "launcho print-auth" run on the server`,
  })
}

function isCertificate(pem: string): boolean {
  try {
    new X509Certificate(pem)
    return true
  } catch {
    return false
  }
}

function isPrivateKey(pem: string): boolean {
  try {
    createPrivateKey(pem)
    return true
  } catch {
    return false
  }
}
