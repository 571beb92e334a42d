/**
 * What a new version changes in a process's unit, directive by directive: `MemoryMax 512M → 1G`,
 * `+CPUQuota=50%`, `-Nice=5`. Both sides are rendered as shown (secrets as `${NAME}`, ports not yet
 * assigned), and what differs only because it is another version (its unit name, its version in
 * the description and journal fields, its work dir and env file paths) is not a change.
 */
import {unitFileText} from '../systemd/unit-file.js'
import type {RenderedUnit} from './unit-renderer.js'

interface Side {
  rendered: RenderedUnit
  version: string
}

/** `Name=value` lines of a unit with its own name and version replaced by a neutral word. */
function directiveLines({rendered, version}: Side): string[] {
  const stem = rendered.unit.replace(/\.service$/, '')
  return unitFileText(rendered.properties)
    .split('\n')
    .filter((line) => line.includes('=') && !line.startsWith('#'))
    .map((line) => line.replaceAll(stem, '<unit>').replaceAll(version, '<version>'))
}

function byDirective(lines: string[]): Map<string, string[]> {
  const map = new Map<string, string[]>()
  for (const line of lines) {
    const at = line.indexOf('=')
    const name = line.slice(0, at)
    map.set(name, [...(map.get(name) ?? []), line.slice(at + 1)])
  }
  return map
}

export function propertyChanges(before: Side, after: Side): string[] {
  const old = byDirective(directiveLines(before))
  const next = byDirective(directiveLines(after))
  const changes: string[] = []
  for (const name of new Set([...old.keys(), ...next.keys()])) {
    const a = old.get(name) ?? []
    const b = next.get(name) ?? []
    if (a.join('\n') === b.join('\n')) continue
    if (a.length === 1 && b.length === 1) {
      changes.push(`${name} ${a[0]} → ${b[0]}`)
      continue
    }
    // Directives given more than once (Environment, LogExtraFields, ExecStartPre): lines in and out.
    for (const value of a) if (!b.includes(value)) changes.push(`-${name}=${value}`)
    for (const value of b) if (!a.includes(value)) changes.push(`+${name}=${value}`)
  }
  return changes
}
