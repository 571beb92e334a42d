/**
 * A process's version: a short hash of everything that affects how it runs. A new version means
 * the reconciler starts a new instance and moves traffic over once it is healthy.
 */
import {createHmac} from 'node:crypto'
import {limitsOf} from './limits.js'
import {byCodeUnits} from '../text-order.js'
import type {ProcessSpec} from './schema.js'

/**
 * First 8 hex chars of HMAC-SHA-256 (keyed by the server's version key, see store/version-key.ts)
 * over the canonical JSON of the running-relevant fields. The name is left out (it identifies the
 * process, it does not configure it). Env keys are sorted, and so are `receives`, which is a set:
 * reordering either is not a change.
 */
export function versionOf(process: ProcessSpec, key: Buffer): string {
  const material = {
    command: process.command,
    env: process.env,
    cwd: process.cwd ?? null,
    uid: process.uid ?? null,
    gid: process.gid ?? null,
    before: process.before ?? null,
    resources: process.resources.map((resource) => ({id: resource.id, file: resource.file})),
    receives: [...process.receives].sort(),
    // The whole block, as written: a new check is proven on a new instance before it takes traffic,
    // and a target that never had the newer keys keeps its versions (absent keys hash as before).
    health: process.health ?? null,
    memoryMax: process.memoryMax,
    // Absent (undefined) when not used, so targets without them keep their versions. `sandbox` is
    // the effective preset (desired.ts fills in the server's default, and leaves out `none`).
    sandbox: process.sandbox,
    memoryDenyWriteExecute: process.memoryDenyWriteExecute || undefined,
    dynamicUser: process.dynamicUser || undefined,
    credentials: process.credentials,
    // Absent when not written (canonicalJson drops undefined): a target without them keeps its versions.
    ...limitsOf(process),
    systemd: process.systemd,
    // Per-instance hooks are part of the unit; beforeRollout is not: changing only the migration
    // to run before the next rollout starts nothing.
    afterStart: process.hooks?.afterStart,
    beforeStop: process.hooks?.beforeStop,
  }
  return createHmac('sha256', key).update(canonicalJson(material)).digest('hex').slice(0, 8)
}

/** JSON with object keys sorted at every level; arrays keep their order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => byCodeUnits(a, b))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}
