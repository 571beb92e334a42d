/**
 * An instance's credentials as files for systemd's LoadCredential=: one 0600 file per name in a
 * 0700 directory of root's, beside its env file (environments/ is root's alone, so plain paths are
 * safe there). systemd copies them into the instance's own $CREDENTIALS_DIRECTORY when it starts
 * it, readable by the instance's user only; the values are in no unit property and no environment.
 */
import {rm} from 'node:fs/promises'
import {join} from 'node:path'
import {ensurePrivateDir, writeFileAtomic} from '../store/atomic.js'

export async function writeCredentialFiles(dir: string, credentials: Record<string, string>): Promise<void> {
  await ensurePrivateDir(dir, 0o700)
  await Promise.all(Object.entries(credentials).map(([name, value]) => writeFileAtomic(join(dir, name), value, 0o600, {durable: false})))
}

export async function removeCredentialFiles(dir: string): Promise<void> {
  await rm(dir, {recursive: true, force: true})
}
