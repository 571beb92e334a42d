/** The commented example `launcho target get` returns before any `launcho target set`. */
import {readFileSync} from 'node:fs'

// Compiled to dist/src/target/, so the package root (holding templates/) is three levels up.
const TEMPLATE = new URL('../../../templates/default-target.yaml', import.meta.url)

let cached: string | undefined

export function defaultTargetText(): string {
  cached ??= readFileSync(TEMPLATE, 'utf8')
  return cached
}
