/**
 * Which users and groups this host knows, through NSS (`getent`), so LDAP or sssd users count like
 * local ones: the same lookup systemd makes for User= and Group= when it starts a unit.
 */
import {execFile} from 'node:child_process'

const TIMEOUT_MS = 10_000

/**
 * The keys (names or numbers) that `database` has an entry for, from one `getent` call; undefined
 * when getent could not answer (missing, timed out), so the caller can tell "unknown" from "absent".
 */
export function knownInNss(database: 'passwd' | 'group', keys: string[]): Promise<Set<string> | undefined> {
  if (keys.length === 0) return Promise.resolve(new Set())
  return new Promise((resolve) => {
    execFile('getent', [database, '--', ...keys], {timeout: TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024}, (error, stdout) => {
      // Exit status 2: one or more keys were not found; the others are still printed.
      const exitCode = (error as (Error & {code?: unknown}) | null)?.code
      if (error && exitCode !== 2) return resolve(undefined)
      const entries = stdout.split('\n').filter(Boolean).map((line) => line.split(':'))
      const names = new Set(entries.map((fields) => fields[0]))
      const ids = new Set(entries.map((fields) => Number(fields[2])))
      resolve(new Set(keys.filter((key) => (/^\d+$/.test(key) ? ids.has(Number(key)) : names.has(key)))))
    })
  })
}
