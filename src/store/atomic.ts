/**
 * Crash-safe file writes for the state dir. A reader sees either the old content or the new
 * content, never a torn mix: we write a temp file beside the target, fsync it, rename it over
 * the target and fsync the directory so the rename itself survives a power cut (the fsyncs are
 * skipped for files nothing reads after a reboot: `durable: false`).
 */
import {randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {chmod, mkdir, open, readdir, readFile, rename, unlink} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {LaunchoError} from '../errors.js'

/**
 * Writes `path` as described above. `durable: false` keeps the rename (no reader sees the file
 * torn) but skips both fsyncs: for files a unit reads at each start (its env file, credentials,
 * command drop-in), since after a power cut systemd has no transient unit left to read them and
 * launcho writes every one afresh; at 100 starts at once the fsyncs held up the thread pool every
 * other file operation waits for.
 */
export async function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600, options: {durable?: boolean} = {}): Promise<void> {
  const durable = options.durable ?? true
  const dir = dirname(path)
  const temp = join(dir, `.${basename(path)}.tmp-${randomBytes(6).toString('hex')}`)
  let created = false
  try {
    // 'wx' so we never follow or reuse a file someone planted under the temp name.
    const handle = await open(temp, 'wx', mode)
    created = true
    try {
      await handle.writeFile(data)
      // The umask may have narrowed the mode at open(); chmod makes it exactly what was asked.
      await handle.chmod(mode)
      if (durable) await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, path)
    created = false
    if (durable) await syncDir(dir)
  } catch (error) {
    if (created) await unlink(temp).catch(() => {})
    throw storageError(`could not write ${path}`, error)
  }
}

/** The file's text, or undefined when it does not exist. Other failures (EACCES, EISDIR…) throw. */
export async function readFileIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined
    throw storageError(`could not read ${path}`, error)
  }
}

/** The same, read at once: for a small file a CLI needs before anything else can happen. */
export function readFileIfExistsSync(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined
    throw storageError(`could not read ${path}`, error)
  }
}

/**
 * mkdir -p for a directory whose parent nearly always exists (a unit's work dir or drop-in dir):
 * one plain mkdir, and the recursive walk only when the parent is missing. At 100 starts at once
 * the recursive form cost the server's event loop tens of ms more.
 */
export async function makeDir(path: string, mode: number): Promise<void> {
  try {
    await mkdir(path, {mode})
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return
    if (errnoCode(error) !== 'ENOENT') throw error
    await mkdir(path, {recursive: true, mode})
  }
}

/** mkdir -p, then chmod, so an existing dir created with looser permissions is tightened too. */
export async function ensurePrivateDir(path: string, mode = 0o700): Promise<void> {
  try {
    await mkdir(path, {recursive: true, mode})
    await chmod(path, mode)
  } catch (error) {
    throw storageError(`could not create directory ${path}`, error)
  }
}

/** Temp files writeFileAtomic names `.<file>.tmp-<12 hex>`. */
const TEMP_NAME = /^\..+\.tmp-[0-9a-f]{12}$/

/**
 * Removes the temp files a crash (kill -9, power cut) left in `dir` between writing and renaming;
 * they hold a partial copy of a state file (secrets included). Call only while nothing writes there.
 */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  const stale = (await readdir(dir).catch(() => [] as string[])).filter((name) => TEMP_NAME.test(name))
  for (const name of stale) await unlink(join(dir, name)).catch(() => {})
  return stale
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } catch (error) {
    // Some filesystems refuse fsync on a directory; the rename has still happened.
    if (!['EINVAL', 'ENOTSUP', 'EISDIR'].includes(errnoCode(error) ?? '')) throw error
  } finally {
    await handle.close()
  }
}

function storageError(what: string, error: unknown): LaunchoError {
  if (error instanceof LaunchoError) return error
  const code = errnoCode(error)
  const reason = code ? `${code} (${errnoReason[code] ?? (error as Error).message})` : String((error as Error)?.message ?? error)
  return new LaunchoError('storage_failed', `${what}: ${reason}`, {hint: errnoHint[code ?? ''] ?? 'check the state dir and its disk, then retry', cause: error})
}

function errnoCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  return typeof code === 'string' ? code : undefined
}

const errnoReason: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EISDIR: 'is a directory',
  ENOTDIR: 'a parent is not a directory',
  ENOENT: 'no such file or directory',
  EIO: 'I/O error',
}

const errnoHint: Record<string, string> = {
  ENOSPC: 'free space on the disk holding the state dir',
  EDQUOT: 'raise the disk quota of the user running launcho or free space',
  EACCES: 'run launcho as the user that owns the state dir, or fix its permissions',
  EPERM: 'run launcho as the user that owns the state dir, or fix its permissions',
  EROFS: 'mount the state dir read-write, or point launcho at a writable state dir',
  EISDIR: 'remove or rename the directory that is in the way of this file',
  ENOTDIR: 'a path component is a file; move it out of the way',
  ENOENT: 'create the state dir (launcho server does this on start) or check the path',
  EIO: 'the disk reported an I/O error; check the kernel log (dmesg)',
}
