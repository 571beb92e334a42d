/**
 * Unit names of launcho instances: `launcho-<process>-<version>.service`. Process names are
 * `[a-z0-9-]+` and versions 8 hex digits, so the name splits unambiguously at its last dash.
 */
export const UNIT_PREFIX = 'launcho-'
export const UNIT_PATTERN = 'launcho-*.service'
export const SLICE = 'launcho.slice'

export interface InstanceId {
  process: string
  version: string
}

export function unitNameOf(id: InstanceId): string {
  return `${UNIT_PREFIX}${id.process}-${id.version}.service`
}

/** Parses a unit name back into process and version; undefined for units launcho did not name. */
export function parseUnitName(unit: string): InstanceId | undefined {
  const match = /^launcho-([a-z0-9-]+)-([0-9a-f]{8})\.service$/.exec(unit)
  if (!match) return undefined
  return {process: match[1]!, version: match[2]!}
}

/** Decodes a systemd object path (`/org/freedesktop/systemd1/unit/launcho_2dweb…`) to its unit name. */
export function unitNameFromPath(path: string): string | undefined {
  const prefix = '/org/freedesktop/systemd1/unit/'
  if (!path.startsWith(prefix)) return undefined
  return path
    .slice(prefix.length)
    .replace(/_([0-9a-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
}
