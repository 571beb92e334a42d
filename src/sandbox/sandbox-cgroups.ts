/**
 * Each sandbox's systemd runs in a cgroup subtree of its own, `launcho-sandbox-<hex>` in every
 * mounted hierarchy (templates/sandbox-init.sh moves PID 1 there before systemd starts; systemd
 * takes the cgroup it starts in as its root). Killed as PID 1, systemd removes none of its cgroups:
 * before this, every unit of every sandbox left its cgroups behind in the host's hierarchies (46,000
 * after a day of test runs here) and a new sandbox's systemd then took seconds to answer a call.
 * With a subtree per sandbox, stopping one removes exactly its own cgroups, and two sandboxes never
 * share a unit's cgroup.
 */
import {randomBytes} from 'node:crypto'
import {readFile, readdir, rmdir} from 'node:fs/promises'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

export function newSandboxCgroupName(): string {
  return `launcho-sandbox-${randomBytes(6).toString('hex')}`
}

/** Where cgroup hierarchies are mounted (v1 controllers, name=systemd, and the v2 one). */
async function hierarchies(): Promise<string[]> {
  const mounts = await readFile('/proc/self/mounts', 'utf8')
  return mounts
    .split('\n')
    .map((line) => line.split(' '))
    .filter(([, dir, type]) => (type === 'cgroup' || type === 'cgroup2') && dir?.startsWith('/sys/fs/cgroup'))
    .map(([, dir]) => dir!)
}

/**
 * Removes the subtree `name` from every hierarchy, deepest first. Its processes have just been
 * killed with their PID namespace, so a cgroup may be busy for a moment: tried again for up to
 * `patienceMs`. Returns the cgroups that could not be removed (none when all went well).
 */
export async function removeSandboxCgroups(name: string, patienceMs = 5_000): Promise<string[]> {
  if (!/^launcho-sandbox-[0-9a-f]+$/.test(name)) throw new Error(`not a sandbox cgroup name: ${name}`)
  const deadline = Date.now() + patienceMs
  let left: string[] = []
  for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
    left = []
    for (const root of await hierarchies()) left.push(...(await removeTree(join(root, name))))
    if (left.length === 0 || Date.now() >= deadline) return left
    await sleep(delay)
  }
}

async function removeTree(dir: string): Promise<string[]> {
  let entries
  try {
    entries = await readdir(dir, {withFileTypes: true})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  const left: string[] = []
  for (const entry of entries) if (entry.isDirectory()) left.push(...(await removeTree(join(dir, entry.name))))
  try {
    await rmdir(dir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'ENOENT') left.push(dir)
  }
  return left
}
