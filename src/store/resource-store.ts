/**
 * Resources: content-addressed blobs under `<stateDir>/resources/` (0700). Each is a file named by
 * its id (the SHA-256 of the content, 0600) plus `<id>.json` with its name, size and upload time.
 * An upload streams into a `.upload-*` temp file while hashing and is renamed into place only
 * once fsynced and verified, so a resource is visible exactly when its content is whole.
 */
import {randomBytes} from 'node:crypto'
import {open, readdir, rename, rm, stat, unlink} from 'node:fs/promises'
import {join} from 'node:path'
import type {Readable} from 'node:stream'
import {LaunchoError} from '../errors.js'
import {ensurePrivateDir, readFileIfExists, writeFileAtomic} from './atomic.js'
import {CHUNK_BYTES, fileError, writeHashed} from './resource-file.js'
import {assertIdOrPrefix, assertResourceId, ID_RULES, isResourceId, RESOURCE_ID_LENGTH} from './resource-id.js'
import {byCodeUnits} from '../text-order.js'

export interface ResourceInfo {
  id: string
  name: string
  size: number
  uploadedAt: string
}

export const MAX_RESOURCE_BYTES = 64 * 1024 ** 3
const UPLOAD_PREFIX = '.upload-'

export class ResourceStore {
  constructor(readonly dir: string) {}

  /** Creates the directory and clears what a crash left: partial uploads, metadata without content. */
  async init(): Promise<void> {
    await ensurePrivateDir(this.dir, 0o700)
    const entries = await readdir(this.dir)
    const present = new Set(entries)
    for (const entry of entries) {
      const orphanMeta = entry.endsWith('.json') && !present.has(entry.slice(0, -'.json'.length))
      if (entry.startsWith('.') || orphanMeta) await rm(join(this.dir, entry), {force: true, recursive: true})
    }
  }

  path(id: string): string {
    assertResourceId(id)
    return join(this.dir, id)
  }

  async has(id: string): Promise<boolean> {
    try {
      return (await stat(this.path(id))).isFile()
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
      throw fileError(`could not read ${this.path(id)}`, error)
    }
  }

  /** The full id for a full id or a unique prefix of at least 8 hex digits. */
  async resolve(idOrPrefix: string): Promise<string> {
    assertIdOrPrefix(idOrPrefix)
    const matches =
      idOrPrefix.length === RESOURCE_ID_LENGTH
        ? (await this.has(idOrPrefix)) ? [idOrPrefix] : []
        : (await this.ids()).filter((id) => id.startsWith(idOrPrefix))
    if (matches.length === 1) return matches[0]!
    if (matches.length === 0) {
      throw new LaunchoError('not_found', `no resource has the id ${idOrPrefix}`, {
        hint: 'run "launcho resource ls" to see the ids, or upload the file with "launcho resource up FILE"',
      })
    }
    throw new LaunchoError('invalid_request', `the id prefix ${idOrPrefix} is ambiguous: it matches ${matches.sort().join(', ')}`, {
      hint: `give more hex digits; ${ID_RULES}`,
    })
  }

  async info(id: string): Promise<ResourceInfo> {
    let size: number
    let mtime: Date
    try {
      ;({size, mtime} = await stat(this.path(id)))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new LaunchoError('not_found', `no resource has the id ${id}`, {hint: 'run "launcho resource ls"'})
      throw fileError(`could not read ${this.path(id)}`, error)
    }
    const meta = parseMeta(await readFileIfExists(this.metaPath(id)))
    // The content file is the truth; damaged or missing metadata only costs the name.
    return {id, name: meta?.name ?? '', size, uploadedAt: meta?.uploadedAt ?? mtime.toISOString()}
  }

  /** Newest first. */
  async list(): Promise<ResourceInfo[]> {
    const infos: ResourceInfo[] = []
    for (const id of await this.ids()) {
      try {
        infos.push(await this.info(id))
      } catch (error) {
        if (!(error instanceof LaunchoError && error.code === 'not_found')) throw error // removed meanwhile
      }
    }
    return infos.sort((a, b) => byCodeUnits(b.uploadedAt, a.uploadedAt) || byCodeUnits(a.id, b.id))
  }

  /**
   * Streams `source` in, and stores it under `sha256` only if that is what arrived. An existing id
   * is left as it is (idempotent). On a mismatch, an error or an aborted source nothing is kept.
   */
  async put(source: Readable | AsyncIterable<Buffer>, declared: {sha256: string; name: string}): Promise<{info: ResourceInfo; created: boolean}> {
    assertResourceId(declared.sha256, 'declared SHA-256')
    const temp = join(this.dir, `${UPLOAD_PREFIX}${randomBytes(8).toString('hex')}`)
    const {sha256, size} = await writeHashed(source, temp, {maxBytes: MAX_RESOURCE_BYTES})
    try {
      if (sha256 !== declared.sha256) {
        throw new LaunchoError('invalid_request', `the uploaded content has SHA-256 ${sha256}, not the declared ${declared.sha256}; nothing was stored`, {
          hint: 'the file changed while it was being sent, or the transfer was corrupted; run "launcho resource up FILE" again',
        })
      }
      if (await this.has(sha256)) return {info: await this.info(sha256), created: false}
      const uploadedAt = new Date().toISOString()
      // Metadata first: content without metadata would be listed nameless until the next write.
      await writeFileAtomic(this.metaPath(sha256), `${JSON.stringify({name: declared.name, size, uploadedAt})}\n`, 0o600)
      await rename(temp, this.path(sha256))
      await syncDir(this.dir)
      return {info: {id: sha256, name: declared.name, size, uploadedAt}, created: true}
    } finally {
      await unlink(temp).catch(() => {})
    }
  }

  /** An open stream of the content: a concurrent remove does not cut a download short. */
  async get(id: string): Promise<{info: ResourceInfo; stream: Readable}> {
    const info = await this.info(id)
    const handle = await open(this.path(id), 'r').catch((error: unknown) => {
      throw fileError(`could not open resource ${id}`, error)
    })
    return {info, stream: handle.createReadStream({highWaterMark: CHUNK_BYTES})}
  }

  async remove(id: string): Promise<void> {
    try {
      await unlink(this.path(id))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new LaunchoError('not_found', `no resource has the id ${id}`, {hint: 'run "launcho resource ls"'})
      throw fileError(`could not remove resource ${id}`, error)
    }
    await rm(this.metaPath(id), {force: true})
    await syncDir(this.dir)
  }

  private metaPath(id: string): string {
    return `${this.path(id)}.json`
  }

  /** Every stored id (content files only; an upload under way is not one yet). */
  async ids(): Promise<string[]> {
    return (await readdir(this.dir)).filter(isResourceId)
  }
}

function parseMeta(text: string | undefined): {name: string; uploadedAt: string} | undefined {
  try {
    const meta = JSON.parse(text ?? '') as {name?: unknown; uploadedAt?: unknown}
    if (typeof meta.name === 'string' && typeof meta.uploadedAt === 'string') return {name: meta.name, uploadedAt: meta.uploadedAt}
  } catch {
    // missing or damaged: fall back to what the content file says
  }
  return undefined
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } catch {
    // Some filesystems refuse fsync on a directory; the rename has still happened.
  } finally {
    await handle.close()
  }
}
