/**
 * Unit names of launcho instances: `launcho-<process>-<version>.service` for replica 0 (the name
 * every instance had before replicas, so units of earlier servers are still read right) and
 * `launcho-<process>-<version>-<replica>.service` for replicas 1 to 99. Process names are
 * `[a-z0-9-]+`, versions 8 hex digits and replica indexes 1 or 2 digits without a leading zero,
 * so the name splits unambiguously: a replica index is never 8 hex digits.
 */
export const UNIT_PREFIX = 'launcho-'
export const UNIT_PATTERN = 'launcho-*.service'
export const SLICE = 'launcho.slice'

/** Replica indexes are 0 to MAX_REPLICAS - 1 (the target allows at most 100 replicas). */
const MAX_REPLICAS = 100

export interface InstanceId {
  process: string
  version: string
}

export function unitNameOf(id: InstanceId & {replica?: number}): string {
  const replica = id.replica ?? 0
  if (!Number.isInteger(replica) || replica < 0 || replica >= MAX_REPLICAS) throw new RangeError(`replica index out of range: ${replica}`)
  return `${UNIT_PREFIX}${id.process}-${id.version}${replica === 0 ? '' : `-${replica}`}.service`
}

/** Parses a unit name back into process and version; undefined for units launcho did not name. */
export function parseUnitName(unit: string): InstanceId | undefined {
  if (RUN_UNIT_NAME.test(unit)) return undefined
  const match = UNIT_NAME.exec(unit)
  if (!match) return undefined
  return {process: match[1]!, version: match[2]!}
}

/** The replica index of a launcho unit (0 for a name without one); undefined for units launcho did not name. */
export function replicaOf(unit: string): number | undefined {
  if (RUN_UNIT_NAME.test(unit)) return undefined
  const match = UNIT_NAME.exec(unit)
  if (!match) return undefined
  return match[3] === undefined ? 0 : Number(match[3])
}

/**
 * A one-off run's unit (`launcho run`, a beforeRollout hook: systemd/run-unit.ts),
 * `launcho-run-<process>-<8 hex>.service`. It would read as an instance of a process `run-<process>`,
 * which the target refuses (target/rules.ts), so it is never taken for an instance.
 */
export const RUN_UNIT_PREFIX = 'launcho-run-'
const RUN_UNIT_NAME = /^launcho-run-[a-z0-9-]+-[0-9a-f]{8}\.service$/

const UNIT_NAME = /^launcho-([a-z0-9-]+)-([0-9a-f]{8})(?:-([1-9][0-9]?))?\.service$/

/** Decodes a systemd object path (`/org/freedesktop/systemd1/unit/launcho_2dweb…`) to its unit name. */
export function unitNameFromPath(path: string): string | undefined {
  const prefix = '/org/freedesktop/systemd1/unit/'
  if (!path.startsWith(prefix)) return undefined
  return path
    .slice(prefix.length)
    .replace(/_([0-9a-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
}

/** The object path systemd gives a unit (its bus label: every byte but [A-Za-z0-9], and a leading digit, as `_xx`). */
export function unitPathOf(unit: string): string {
  let label = ''
  for (const [i, byte] of [...Buffer.from(unit)].entries()) {
    const char = String.fromCharCode(byte)
    label += /[A-Za-z]/.test(char) || (i > 0 && /[0-9]/.test(char)) ? char : `_${byte.toString(16).padStart(2, '0')}`
  }
  return `/org/freedesktop/systemd1/unit/${label}`
}
