/**
 * The last line of defence for secret values: every event, log line and status text passes
 * through here, and any secret value in it becomes `${NAME}`. The first line is that no message
 * is ever built from a value (they name the field and the secret); this catches what comes from
 * elsewhere, such as systemd's own failure texts about a command that holds a secret.
 *
 * Values shorter than MIN_REDACTED_LENGTH are left alone: such values ("80", "yes", "prod") occur
 * as ordinary words in most texts, replacing them would garble every line, and they hide little.
 * Values replaced by a newer one stay redacted (up to MAX_RETIRED of them): instances of the old
 * version may still be reporting while they stop.
 */
export const MIN_REDACTED_LENGTH = 6
const MAX_RETIRED = 256

export class SecretRedactor {
  private current = new Map<string, string>()
  /** value → name, for values no longer current (oldest first). */
  private retired = new Map<string, string>()
  private plain?: Pattern
  private inJson?: Pattern

  /** Sets the current secrets (name → value). */
  update(secrets: ReadonlyMap<string, string>): void {
    for (const [name, value] of this.current) {
      if (secrets.get(name) !== value) {
        this.retired.delete(value)
        this.retired.set(value, name)
      }
    }
    this.current = new Map(secrets)
    for (const value of this.current.values()) this.retired.delete(value)
    while (this.retired.size > MAX_RETIRED) this.retired.delete(this.retired.keys().next().value!)
    const byValue = new Map<string, string>(this.retired)
    for (const [name, value] of this.current) byValue.set(value, name)
    const entries = [...byValue].filter(([value]) => value.length >= MIN_REDACTED_LENGTH)
    this.plain = patternOf(entries.map(([value, name]) => [value, name]))
    // In a JSON text a value appears escaped (quotes, backslashes, control characters).
    this.inJson = patternOf(entries.map(([value, name]) => [JSON.stringify(value).slice(1, -1), name]))
  }

  /** `text` with every secret value replaced by `${NAME}`. */
  redact(text: string): string {
    return this.plain ? replaceAll(text, this.plain) : text
  }

  /**
   * A JSON text (a log line) with secret values replaced inside its strings only, so it stays
   * valid JSON even when a value looks like a number or a keyword.
   */
  redactJson(line: string): string {
    const pattern = this.inJson
    if (!pattern) return line
    return line.replace(/"(?:[^"\\]|\\.)*"/g, (literal) => replaceAll(literal, pattern))
  }

  /** A copy of a JSON-like value (e.g. a status report) with every string redacted. */
  redactDeep<T>(value: T): T {
    if (!this.plain) return value
    const walk = (node: unknown): unknown => {
      if (typeof node === 'string') return this.redact(node)
      if (Array.isArray(node)) return node.map(walk)
      if (node !== null && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]))
      return node
    }
    return walk(value) as T
  }
}

interface Pattern {
  regex: RegExp
  names: Map<string, string>
}

function patternOf(entries: Array<[string, string]>): Pattern | undefined {
  if (entries.length === 0) return undefined
  // Longest first, so a value that contains another is replaced whole.
  const sorted = [...entries].sort(([a], [b]) => b.length - a.length)
  const regex = new RegExp(sorted.map(([value]) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g')
  return {regex, names: new Map(sorted)}
}

function replaceAll(text: string, {regex, names}: Pattern): string {
  return text.replace(regex, (match) => `\${${names.get(match)}}`)
}
