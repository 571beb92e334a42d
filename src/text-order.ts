/**
 * Orders strings by their UTF-16 code units, as `<` does. Everything the server sorts is ASCII it
 * defined itself (names, ids, ISO times), where this is the order a reader expects; and
 * `localeCompare` would load ICU's collation data, ~3 MB of the server's resident memory, for it.
 */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
