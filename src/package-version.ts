/** launcho's own version, from its package.json (compiled to dist/src/, so two levels up). */
import {readFileSync} from 'node:fs'

let cached: string | undefined

export function packageVersion(): string {
  if (cached === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version?: string}
      cached = pkg.version ?? 'unknown'
    } catch {
      cached = 'unknown'
    }
  }
  return cached
}
