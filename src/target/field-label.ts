/**
 * How a problem names its field once secrets are substituted: by its path and the secrets it was
 * built from (`processes[0].resources[0].id (from secret BUNDLE_RESOURCE_ID)`), never by its value.
 */
import {formatPath} from './rules.js'
import {placeholdersIn, type FieldPath} from './substitute.js'

/** Secret names used at `path` of a target as written (placeholders kept), in order of first use. */
export function secretsAt(template: unknown, path: FieldPath): string[] {
  let node = template
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return []
    node = (node as Record<string | number, unknown>)[segment]
  }
  const names = new Set<string>()
  const visit = (value: unknown): void => {
    if (typeof value === 'string') for (const name of placeholdersIn(value)) names.add(name)
    else if (Array.isArray(value)) value.forEach(visit)
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(visit)
  }
  visit(node)
  return [...names]
}

/** `processes[0].cwd`, with ` (from secret APP_DIR)` when the value came from secrets. */
export function labelledField(template: unknown, path: FieldPath): string {
  const secrets = secretsAt(template, path)
  if (secrets.length === 0) return formatPath(path)
  return `${formatPath(path)} (from secret${secrets.length > 1 ? 's' : ''} ${secrets.join(', ')})`
}
