/**
 * A copy of a test fixture where a sandboxed unit can read it. PrivateTmp hides /tmp and /var/tmp
 * from `basic` and `strict` units, and a clone of this repository (CI's included) may live there.
 */
import {randomBytes} from 'node:crypto'
import {chmod, copyFile, mkdir, rm} from 'node:fs/promises'
import {basename, join} from 'node:path'
import {repoRoot} from './harness.js'

const ROOT = '/var/lib/launcho-test-fixtures'

export async function visibleFixture(name: string): Promise<{path: string; remove: () => Promise<void>}> {
  const dir = join(ROOT, randomBytes(4).toString('hex'))
  await mkdir(dir, {recursive: true, mode: 0o755})
  await chmod(ROOT, 0o755)
  const path = join(dir, basename(name))
  await copyFile(join(repoRoot, 'test', 'fixtures', name), path)
  await chmod(path, 0o644)
  return {path, remove: () => rm(dir, {recursive: true, force: true})}
}
