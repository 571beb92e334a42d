/**
 * The record of which IPVS virtual services launcho created, so that a restarted server can still
 * remove a service that left the target while it was down — and never removes anyone else's.
 * File format: `{"services": ["127.0.0.1:5000", …]}` (TCP `host:port`).
 */
import {LaunchoError} from '../errors.js'
import {readFileIfExists, writeFileAtomic} from '../store/atomic.js'

export async function loadOwned(file: string | undefined): Promise<Set<string>> {
  if (!file) return new Set()
  const text = await readFileIfExists(file)
  if (text === undefined) return new Set()
  try {
    const parsed = JSON.parse(text) as {services?: unknown}
    if (!Array.isArray(parsed.services) || !parsed.services.every((s) => typeof s === 'string')) throw new Error('no "services" list of strings')
    return new Set(parsed.services as string[])
  } catch (error) {
    throw new LaunchoError('storage_failed', `${file} is not a launcho IPVS ownership record: ${(error as Error).message}`, {
      hint: 'remove the file; launcho will then only remove IPVS services it is asked to manage again',
      cause: error,
    })
  }
}

export async function saveOwned(file: string | undefined, services: ReadonlySet<string>): Promise<void> {
  if (!file) return
  await writeFileAtomic(file, `${JSON.stringify({services: [...services].sort()})}\n`, 0o644)
}
