/** Helpers for the resource tests and benchmark: big test files, raw API requests, server memory. */
import {createHash, randomBytes} from 'node:crypto'
import {open, readFile} from 'node:fs/promises'
import type {Harness} from './harness.js'

export const MiB = 1024 * 1024

/**
 * Writes `bytes` of incompressible data fast: one random MiB, repeated with each block's index
 * stamped into it (so no two blocks are equal) and `seed` mixed in (so files differ).
 */
export async function writeBigFile(path: string, bytes: number, seed: string): Promise<void> {
  const block = randomBytes(MiB)
  const handle = await open(path, 'wx', 0o600)
  try {
    for (let offset = 0; offset < bytes; offset += MiB) {
      const chunk = Buffer.from(block.subarray(0, Math.min(MiB, bytes - offset)))
      chunk.write(`${seed}:${offset}:`.padEnd(Math.min(64, chunk.length)), 0, 'latin1')
      await handle.write(chunk)
    }
  } finally {
    await handle.close()
  }
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

/** Peak resident set size of a process in bytes (VmHWM). */
export async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1]
  if (kb === undefined) throw new Error(`no VmHWM in /proc/${pid}/status`)
  return Number(kb) * 1024
}

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  json: {error?: {code: string; message: string; hint?: string}} & Record<string, unknown>
}

/**
 * A bare authenticated HTTPS request to the harness's server, for what the CLI would never send.
 * `path` goes on the wire exactly as given (no normalisation, no encoding).
 */
export async function rawRequest(
  h: Harness,
  options: {method?: string; path: string; headers?: Record<string, string | number>; body?: string | Buffer},
): Promise<RawResponse> {
  const response = await h.request(options)
  const text = response.body.toString('utf8')
  let json = {}
  try {
    json = JSON.parse(text || '{}')
  } catch {
    // not JSON: the test looks at text
  }
  return {status: response.status, headers: response.headers, text, json}
}
