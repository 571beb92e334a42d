/**
 * Control characters in values that reach a unit. systemd writes some unit properties into the
 * transient unit file unescaped (WorkingDirectory=, User=, …): a newline there becomes a property
 * of its own at the next `daemon-reload`. Refused: every Unicode control character (C0, DEL, C1)
 * and the line and paragraph separators U+2028/U+2029, which other readers take as line breaks.
 * A `before` script keeps newlines and tabs (systemd escapes its ExecStartPre= argv, and a
 * daemon-reload reads it back unchanged); env values keep all but NUL (D-Bus strings cannot carry
 * one), they go to an env file in systemd's quoting.
 */
export type ControlRule = 'unit' | 'script' | 'env'

const REFUSED: Record<ControlRule, RegExp> = {
  unit: /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/,
  script: /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/,
  env: /\u0000/,
}

const NAMES: Record<number, string> = {
  0x00: 'a NUL character',
  0x09: 'a tab',
  0x0a: 'a newline',
  0x0d: 'a carriage return',
  0x1b: 'an escape character',
  0x7f: 'a DEL character',
  0x85: 'a next-line character',
  0x2028: 'a line separator',
  0x2029: 'a paragraph separator',
}

/** What the first refused character is, e.g. `a newline (U+000A)`, or undefined when there is none. */
export function controlCharacterIn(value: string, rule: ControlRule = 'unit'): string | undefined {
  const match = REFUSED[rule].exec(value)
  if (!match) return undefined
  const code = match[0].codePointAt(0)!
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`
  return `${NAMES[code] ?? 'a control character'} (${hex})`
}
