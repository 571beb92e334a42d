/** The API's bearer token: 256 random bits as 64 hex chars, checked in constant time. */
import {createHash, randomBytes, timingSafeEqual} from 'node:crypto'

export const TOKEN_PATTERN = /^[0-9a-f]{64}$/

export function generateToken(): string {
  return randomBytes(32).toString('hex')
}

/**
 * Compares SHA-256 digests rather than the raw strings: timingSafeEqual needs equal lengths,
 * and hashing first means neither the length nor any prefix of the expected token leaks.
 */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false
  const a = createHash('sha256').update(presented, 'utf8').digest()
  const b = createHash('sha256').update(expected, 'utf8').digest()
  return timingSafeEqual(a, b)
}

/** The token in an `Authorization: Bearer <token>` header, or undefined when there is none. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
  return match?.[1]
}
