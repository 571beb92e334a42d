/**
 * The argv reader of the quick paths (quick-status.ts, quick-set.ts, quick-secret-set.ts): it reads only the forms
 * oclif reads the same way, and refuses everything else, so that the command gets it. Positionals
 * are words not starting with `-` (`-` itself only where `dash` allows it); flags are `--name` for
 * booleans, `--name VALUE` or `--name=VALUE` for strings; each flag at most once. Each quick path's
 * unit test holds its use of this to oclif's own parser.
 */
export interface QuickArgvSpec {
  /** How many positionals: at least `min`, at most `max`. */
  min: number
  max: number
  /** `-` is a positional (standard input). */
  dash?: boolean
  booleans: readonly string[]
  strings: readonly string[]
}

export interface QuickArgv {
  positionals: string[]
  booleans: Set<string>
  strings: Map<string, string>
}

export function readQuickArgv(argv: readonly string[], spec: QuickArgvSpec): QuickArgv | undefined {
  const read: QuickArgv = {positionals: [], booleans: new Set(), strings: new Map()}
  const seen = new Set<string>()
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    if ((token === '-' && spec.dash) || (token !== '' && !token.startsWith('-'))) {
      read.positionals.push(token)
      continue
    }
    const equals = token.indexOf('=')
    const name = equals > 0 ? token.slice(0, equals) : token
    if (!name.startsWith('--') || seen.has(name)) return undefined
    seen.add(name)
    const flag = name.slice(2)
    if (spec.booleans.includes(flag)) {
      if (equals > 0) return undefined
      read.booleans.add(flag)
      continue
    }
    if (!spec.strings.includes(flag)) return undefined
    const value = equals > 0 ? token.slice(equals + 1) : argv[++i]
    if (value === undefined || value === '' || value.startsWith('-')) return undefined
    read.strings.set(flag, value)
  }
  if (read.positionals.length < spec.min || read.positionals.length > spec.max) return undefined
  return read
}
