/**
 * Values the way systemd 252 takes them in a transient unit, checked when the target is set so
 * that a start can never fail on them later (and loop). `quote` is false when the value may hold
 * a substituted secret: the message then describes the value without showing it.
 */
import {posix} from 'node:path'

/**
 * argv[0] of ExecStart= (and of an exec health check): systemd runs an absolute path, or looks a
 * bare name up in its PATH; a relative path with a "/" ("./server.sh", "bin/x") is refused.
 * `cwd`: the process's cwd as written, for suggesting the absolute path.
 */
export function programProblem(what: string, value: string, quote: boolean, cwd?: string): string | undefined {
  if (value === '') return `${what} must not be empty: it names the program to run, e.g. "node" or "/usr/bin/node"`
  if (value.startsWith('/') || !value.includes('/')) return undefined
  const rule = 'systemd runs only an absolute path or a bare name from its PATH'
  if (!quote) return `${what} is a relative path: ${rule}`
  const fix =
    cwd !== undefined
      ? `write ${JSON.stringify(posix.join(cwd, value))}`
      : `write its absolute path, or start it from the working directory with ["/bin/sh", "-c", ${JSON.stringify(`exec ${value}`)}]`
  return `${what} is a relative path (got ${JSON.stringify(value)}): ${rule}; ${fix}`
}

/** WorkingDirectory=: absolute and normalised (systemd itself refuses ".." and stats the rest as given). */
export function cwdProblem(value: string, quote: boolean): string | undefined {
  if (!value.startsWith('/')) return 'cwd must be an absolute path, e.g. "/srv/web"'
  const normal = normalisedPath(value)
  if (normal === value) return undefined
  const rule = 'cwd must be a normalised absolute path (no "." or ".." parts, no "//", no trailing "/")'
  return quote ? `${rule}: write ${JSON.stringify(normal)}` : rule
}

/** "/srv/../tmp/" → "/tmp" (lexically: ".." drops the part before it). */
export function normalisedPath(path: string): string {
  const normal = posix.normalize(path)
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal
}

/** uid_t/gid_t as systemd takes them: (uid_t) -1 and the 16-bit -1 (65535) are not valid ids. */
export const MAX_ID = 4_294_967_294
const INVALID_16_BIT_ID = 65_535

export function numericIdProblem(what: 'uid' | 'gid', value: string, quote: boolean): string | undefined {
  if (!/^\d+$/.test(value)) return undefined
  const id = Number(value)
  if (id <= MAX_ID && id !== INVALID_16_BIT_ID) return undefined
  const kind = what === 'uid' ? 'user' : 'group'
  const shown = quote ? ` ${value}` : ''
  return `${what}${shown} is not a valid ${kind} id: systemd takes 0-${MAX_ID}, except 65535`
}
