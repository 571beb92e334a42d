/**
 * Streaming file primitives for resources, shared by the server's store and the CLI: hash a file,
 * write a stream to a new file while hashing it, and save a download only once its hash checks
 * out. Nothing here holds more than a stream buffer in memory, whatever the file size.
 */
import {createHash, randomBytes} from 'node:crypto'
import {type FileHandle, open, rename, unlink} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {Readable, Transform} from 'node:stream'
import {type ErrorCode, LaunchoError} from '../errors.js'

export interface Hashed {
  sha256: string
  size: number
}

/** Big chunks keep syscalls few; memory stays at a few of them per transfer. */
export const CHUNK_BYTES = 1024 * 1024

export async function hashFile(path: string): Promise<Hashed> {
  const hasher = new Hasher()
  // One buffer reused for every read: a stream's fresh 1 MiB chunk per read made the garbage
  // collector a third of the time of hashing a big file.
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES)
  try {
    const handle = await open(path, 'r')
    try {
      for (;;) {
        const {bytesRead} = await handle.read(buffer, 0, CHUNK_BYTES, null)
        if (bytesRead === 0) break
        hasher.update(buffer.subarray(0, bytesRead))
      }
    } finally {
      await handle.close()
    }
  } catch (error) {
    throw fileError(`cannot read ${path}`, error, 'invalid_request')
  }
  return hasher.result()
}

/**
 * Streams `source` into the new file `path` (never an existing one) while hashing, and fsyncs it
 * before returning. On any failure, a source that ends early included, the file is deleted.
 */
export async function writeHashed(
  source: AsyncIterable<Buffer> | Readable,
  path: string,
  options: {maxBytes?: number; label?: string} = {},
): Promise<Hashed> {
  const hasher = new Hasher(options.maxBytes)
  let handle: FileHandle | undefined
  let writing: Promise<void> | undefined
  // Until the loop below listens, an error of the source (a cut connection) must not go unheard,
  // which would crash the process; the loop still sees it, as the stream's stored error.
  const unheard = () => {}
  if (source instanceof Readable) source.on('error', unheard)
  try {
    // 'wx': a planted file or symlink under the temp name is never followed or reused.
    handle = await open(path, 'wx', 0o600)
    // Network chunks are 16 KiB TLS records: gathered into one writev per CHUNK_BYTES, not a
    // stream pipeline's few async hops and a write for each. One write stays in flight while the
    // next batch arrives, so the socket keeps being read (and the sender keeps sending).
    let batch: Buffer[] = []
    let batched = 0
    for await (const chunk of source as AsyncIterable<Buffer>) {
      hasher.update(chunk)
      batch.push(chunk)
      batched += chunk.length
      if (batched >= CHUNK_BYTES) {
        await writing
        writing = writeAll(handle, batch, batched)
        writing.catch(() => {}) // surfaces at the next await
        batch = []
        batched = 0
      }
    }
    await writing
    if (batched > 0) await writeAll(handle, batch, batched)
    await handle.sync()
    await handle.close()
  } catch (error) {
    await writing?.catch(() => {})
    await handle?.close().catch(() => {})
    await unlink(path).catch(() => {})
    throw fileError(`could not write ${options.label ?? path}`, error)
  } finally {
    if (source instanceof Readable) source.off('error', unheard)
  }
  return hasher.result()
}

async function writeAll(handle: FileHandle, buffers: Buffer[], total: number): Promise<void> {
  const {bytesWritten} = await handle.writev(buffers)
  let rest = bytesWritten < total ? Buffer.concat(buffers).subarray(bytesWritten) : undefined
  while (rest !== undefined && rest.length > 0) {
    const written = await handle.write(rest)
    rest = rest.subarray(written.bytesWritten)
  }
}

/**
 * Writes `source` to a temp file beside `dest` and renames it into place only when its SHA-256 is
 * `expected`; otherwise nothing is left behind and `dest` is untouched.
 */
export async function saveVerified(source: AsyncIterable<Buffer> | Readable, dest: string, expected: string): Promise<Hashed> {
  const temp = join(dirname(dest), `.${basename(dest)}.${randomBytes(6).toString('hex')}.part`)
  const hashed = await writeHashed(source, temp, {label: dest})
  if (hashed.sha256 !== expected) {
    await unlink(temp).catch(() => {})
    throw new LaunchoError('internal', `the downloaded content has SHA-256 ${hashed.sha256}, not ${expected}; ${dest} was not written`, {
      hint: 'the transfer was corrupted or the server store is damaged; retry, and check the server log if it persists',
    })
  }
  try {
    await rename(temp, dest)
  } catch (error) {
    await unlink(temp).catch(() => {})
    throw fileError(`could not move the download into ${dest}`, error)
  }
  return hashed
}

/** Passes chunks through unchanged, hashing and counting them, and stops at `maxBytes`. */
export class Hasher extends Transform {
  private readonly hash = createHash('sha256')
  private size = 0

  constructor(private readonly maxBytes = Number.POSITIVE_INFINITY) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null, data?: Buffer) => void): void {
    try {
      this.update(chunk)
    } catch (error) {
      done(error as Error)
      return
    }
    done(null, chunk)
  }

  /** For callers that move the chunks themselves. */
  update(chunk: Buffer): void {
    this.size += chunk.length
    if (this.size > this.maxBytes) {
      throw new LaunchoError('payload_too_large', `the upload is larger than the limit of ${this.maxBytes} bytes`, {hint: 'split the data into several resources'})
    }
    this.hash.update(chunk)
  }

  result(): Hashed {
    return {sha256: this.hash.digest('hex'), size: this.size}
  }
}

const reasons: Record<string, [string, string]> = {
  ENOENT: ['no such file or directory', 'check the path'],
  EACCES: ['permission denied', 'check the file and directory permissions'],
  EISDIR: ['is a directory', 'give a file, not a directory'],
  ENOSPC: ['no space left on device', 'free space on the disk and retry'],
  EDQUOT: ['disk quota exceeded', 'free space or raise the quota and retry'],
  ECONNRESET: ['the connection was cut mid-transfer', 'retry; nothing partial was kept'],
  ERR_STREAM_PREMATURE_CLOSE: ['the transfer stopped before the end', 'retry; nothing partial was kept'],
}

const CUT_OFF = new Set(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE'])

export function fileError(what: string, error: unknown, code: ErrorCode = 'storage_failed'): LaunchoError {
  if (error instanceof LaunchoError) return error
  const errno = (error as NodeJS.ErrnoException)?.code ?? ''
  const [reason, hint] = reasons[errno] ?? [(error as Error)?.message ?? String(error), 'retry; if it persists, check the disk and the logs']
  // A sender that went away mid-transfer is the request's problem, not the disk's.
  return new LaunchoError(CUT_OFF.has(errno) ? 'invalid_request' : code, `${what}: ${reason}`, {hint, cause: error})
}
