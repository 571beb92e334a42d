/**
 * The .deb under test, built by the real packaging/deb/build.sh. A build takes about a minute, so
 * it is cached under /var/tmp by a hash of everything that goes into it (sources, templates,
 * packaging, lockfile, the bundled node): an unchanged tree reuses its package, any change builds
 * anew. It is built with LAUNCHO_DEB_FAST (gzip -1 instead of the release's xz): the same files,
 * compressed in seconds instead of minutes.
 */
import {execFile} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdir, mkdtemp, readFile, readdir, rename, rm, stat} from 'node:fs/promises'
import {join, relative} from 'node:path'
import {promisify} from 'node:util'
import {repoRoot} from './harness.js'

const run = promisify(execFile)
const cacheRoot = '/var/tmp/launcho-deb-cache'
const inputs = ['src', 'bin', 'templates', 'packaging/deb', 'package.json', 'package-lock.json', 'tsconfig.json']
const keep = 3

export async function cachedDeb(): Promise<string> {
  const key = await inputHash()
  const dir = join(cacheRoot, key)
  const found = await debIn(dir)
  if (found) return found
  await mkdir(cacheRoot, {recursive: true})
  const building = await mkdtemp(join(cacheRoot, `.build-${key}-`))
  try {
    await run('bash', [join(repoRoot, 'packaging/deb/build.sh')], {
      cwd: repoRoot,
      env: {...process.env, LAUNCHO_DEB_OUT: building, LAUNCHO_DEB_FAST: '1'},
      maxBuffer: 16 * 1024 * 1024,
    })
    await rename(building, dir).catch(async (error: NodeJS.ErrnoException) => {
      // Another run built the same tree meanwhile: theirs is as good as ours.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error
    })
  } finally {
    await rm(building, {recursive: true, force: true})
  }
  await prune()
  const built = await debIn(dir)
  if (!built) throw new Error(`build.sh left no .deb in ${dir}`)
  return built
}

async function inputHash(): Promise<string> {
  const hash = createHash('sha256')
  for (const input of inputs) {
    for (const file of await files(join(repoRoot, input))) {
      hash.update(relative(repoRoot, file)).update('\0').update(await readFile(file)).update('\0')
    }
  }
  // The node build.sh bundles: LAUNCHO_NODE, else the one scripts/install-node.sh installs.
  const {stdout: node} = await run('sh', ['-c', 'n=${LAUNCHO_NODE:-${LAUNCHO_NODE_PREFIX:-/opt/launcho-node}/bin/node}; [ -e "$n" ] || n=$(command -v node); readlink -f "$n"'])
  const nodeStat = await stat(node.trim())
  hash.update(`${node.trim()} ${nodeStat.size} ${nodeStat.mtimeMs} ${process.version}`)
  return hash.digest('hex').slice(0, 16)
}

async function files(path: string): Promise<string[]> {
  const info = await stat(path)
  if (!info.isDirectory()) return [path]
  const entries = await readdir(path, {withFileTypes: true})
  const nested = await Promise.all(entries.sort((a, b) => a.name.localeCompare(b.name)).map((entry) => files(join(path, entry.name))))
  return nested.flat()
}

async function debIn(dir: string): Promise<string | undefined> {
  const names = await readdir(dir).catch(() => [] as string[])
  const deb = names.find((name) => name.endsWith('.deb'))
  return deb ? join(dir, deb) : undefined
}

/** Keeps the newest few packages only (each is ~35 MB). */
async function prune(): Promise<void> {
  const entries = (await readdir(cacheRoot)).filter((name) => !name.startsWith('.'))
  const dated = await Promise.all(entries.map(async (name) => ({name, mtime: (await stat(join(cacheRoot, name))).mtimeMs})))
  for (const {name} of dated.sort((a, b) => b.mtime - a.mtime).slice(keep)) {
    await rm(join(cacheRoot, name), {recursive: true, force: true})
  }
}
