/**
 * The key of the version hashes. A version covers the process's env with secrets substituted and
 * shows in unit names that every local user can list; keyed, it cannot be used to test guesses of
 * a secret. Made once per state dir and kept: a new key gives every process a new version, which
 * replaces every instance (with the usual zero-downtime rollout).
 */
import {randomBytes} from 'node:crypto'
import {LaunchoError} from '../errors.js'
import {readFileIfExists, writeFileAtomic} from './atomic.js'

const KEY = /^[0-9a-f]{64}$/

export async function loadVersionKey(path: string): Promise<Buffer> {
  const text = await readFileIfExists(path)
  if (text === undefined) {
    const key = randomBytes(32)
    await writeFileAtomic(path, `${key.toString('hex')}\n`, 0o600)
    return key
  }
  if (!KEY.test(text.trim())) {
    throw new LaunchoError('storage_failed', `${path} is not a version key (64 hex digits)`, {
      hint: `restore it from a backup, or remove it to make a new one (every process is then replaced once, without downtime)`,
    })
  }
  return Buffer.from(text.trim(), 'hex')
}
