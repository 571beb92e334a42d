/**
 * Typed errors shared by the daemon, the API and the CLI. Each carries a stable code, the HTTP
 * status the API answers with, and a hint that tells the user what to do next.
 */
export type ErrorCode =
  | 'invalid_target'
  | 'invalid_request'
  | 'missing_secret'
  | 'not_found'
  | 'conflict'
  | 'unauthorized'
  | 'payload_too_large'
  | 'storage_failed'
  | 'systemd_failed'
  | 'unreachable'
  | 'internal'
  // The CLI's own, never sent by the server: a deploy it followed failed, or it gave up waiting.
  | 'rollout_failed'
  | 'timed_out'

const statusOf: Record<ErrorCode, number> = {
  invalid_target: 422,
  invalid_request: 400,
  missing_secret: 422,
  not_found: 404,
  conflict: 409,
  unauthorized: 401,
  payload_too_large: 413,
  storage_failed: 507,
  systemd_failed: 502,
  unreachable: 503,
  internal: 500,
  rollout_failed: 500,
  timed_out: 504,
}

/** One problem in a document, pointing at where it is. */
export interface Problem {
  /** 1-based line, when known. */
  line?: number
  /** 1-based column, when known. */
  column?: number
  /** Dotted path of the offending field, e.g. `processes[1].name`. */
  field?: string
  message: string
}

export class LaunchoError extends Error {
  readonly code: ErrorCode
  readonly hint?: string
  readonly problems: Problem[]

  constructor(code: ErrorCode, message: string, options: {hint?: string; problems?: Problem[]; cause?: unknown} = {}) {
    super(message, {cause: options.cause})
    this.name = 'LaunchoError'
    this.code = code
    this.hint = options.hint
    this.problems = options.problems ?? []
  }

  get status(): number {
    return statusOf[this.code]
  }

  toJSON(): {code: ErrorCode; message: string; hint?: string; problems?: Problem[]} {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint ? {hint: this.hint} : {}),
      ...(this.problems.length > 0 ? {problems: this.problems} : {}),
    }
  }
}

/** Formats a problem as `line:col: field: message`, the way compilers do, for a given file name. */
export function formatProblem(problem: Problem, file?: string): string {
  const where = [file, problem.line, problem.line !== undefined ? problem.column : undefined]
    .filter((part) => part !== undefined && part !== '')
    .join(':')
  const field = problem.field ? `${problem.field}: ` : ''
  return `${where ? `${where}: ` : ''}${field}${problem.message}`
}
