/**
 * Resource ids are the SHA-256 of the content as 64 lowercase hex digits. Users may type a unique
 * prefix of at least 8 of them. Anything else (uppercase, "..", "/", NUL, too long) is refused
 * before it gets near a path.
 */
import {LaunchoError} from '../errors.js'

export const RESOURCE_ID_LENGTH = 64
export const MIN_PREFIX_LENGTH = 8

const FULL_ID = /^[0-9a-f]{64}$/
const ID_OR_PREFIX = /^[0-9a-f]{8,64}$/

export const ID_RULES = `ids are the 64 lowercase hex digits printed by "launcho resource up"; a unique prefix of at least ${MIN_PREFIX_LENGTH} of them also works`

export function isResourceId(value: string): boolean {
  return FULL_ID.test(value)
}

/** A full id, e.g. a declared SHA-256. */
export function assertResourceId(value: string, what = 'resource id'): void {
  if (!FULL_ID.test(value)) throw invalid(value, what, `a ${what} is exactly 64 lowercase hex digits (a SHA-256)`)
}

/** A full id or a prefix of at least 8 hex digits, as users type them. */
export function assertIdOrPrefix(value: string): void {
  if (!ID_OR_PREFIX.test(value)) throw invalid(value, 'resource id', reasonFor(value))
}

function reasonFor(value: string): string {
  if (/^[0-9a-fA-F]+$/.test(value) && /[A-F]/.test(value)) return 'ids are lowercase hex'
  if (!/^[0-9a-f]*$/.test(value)) return 'ids contain only the hex digits 0-9 and a-f'
  if (value.length < MIN_PREFIX_LENGTH) return `a prefix needs at least ${MIN_PREFIX_LENGTH} hex digits`
  return `ids are at most ${RESOURCE_ID_LENGTH} hex digits`
}

function invalid(value: string, what: string, reason: string): LaunchoError {
  // JSON.stringify shows NUL and control characters escaped; the cut keeps hostile input short.
  const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)
  return new LaunchoError('invalid_request', `invalid ${what} ${shown}: ${reason}`, {hint: `${ID_RULES}; "launcho resource ls" lists them`})
}
