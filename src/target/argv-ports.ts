/**
 * launcho's own variables in an argv (`command`, `health.command`), which launcho substitutes
 * itself because systemd is told to expand nothing: a word that is exactly `$SERVICE_PORT_<NAME>`,
 * and `${SERVICE_PORT_<NAME>}` anywhere in a word (written `$${SERVICE_PORT_<NAME>}` in the
 * target, where `${NAME}` is a secret), become the instance's port. They are found only in the
 * text the operator wrote, never inside a secret's value; every other `$` reaches the program as
 * written.
 */
import {parseTemplate} from './substitute.js'

/** Literal text, or a reference to one of launcho's variables (`text` is how it was spelled). */
export type ArgvPart = string | {variable: string; text: string}
export type ArgvWord = readonly ArgvPart[]

const WHOLE_WORD = /^\$(SERVICE_PORT_[A-Z0-9_]+)$/
const BRACED = /\$\{(SERVICE_PORT_[A-Z0-9_]+)\}/g

/**
 * The argv of `words` (placeholders kept, as the operator wrote them) with secrets substituted and
 * port references marked. `resolved` is the same argv after secret substitution: a word whose
 * rendering differs from it (which would be a bug) is kept as resolved, with no references.
 */
export function argvTemplateOf(words: readonly string[], resolved: readonly string[], secrets: ReadonlyMap<string, string>): ArgvWord[] {
  return words.map((word, i) => {
    const parts = wordTemplate(word, secrets)
    const plain = resolved[i] ?? ''
    return parts.map(textOf).join('') === plain ? parts : [plain]
  })
}

/** The argv as written, secrets shown as `${NAME}` and port references marked: for showing, never for running. */
export function argvMaskedOf(words: readonly string[]): ArgvWord[] {
  return words.map((word) => wordTemplate(word, new Map()))
}

/**
 * The same for an argv known only after secret substitution (no template to tell text from
 * secret): every `${SERVICE_PORT_<NAME>}` in it counts. For callers that never hold secrets.
 */
export function argvOfResolved(words: readonly string[]): ArgvWord[] {
  return words.map((word) => wholeWord(word) ?? splitBraced(word))
}

function wholeWord(word: string): ArgvPart[] | undefined {
  const whole = WHOLE_WORD.exec(word)
  return whole ? [{variable: whole[1]!, text: word}] : undefined
}

function wordTemplate(word: string, secrets: ReadonlyMap<string, string>): ArgvPart[] {
  const whole = wholeWord(word)
  if (whole) return whole
  return parseTemplate(word).flatMap((part): ArgvPart[] => {
    if (part.kind === 'secret') return [secrets.get(part.name) ?? '${' + part.name + '}']
    if (part.kind === 'invalid') return [part.text]
    return splitBraced(part.text)
  })
}

function splitBraced(text: string): ArgvPart[] {
  const parts: ArgvPart[] = []
  let at = 0
  for (const match of text.matchAll(BRACED)) {
    if (match.index > at) parts.push(text.slice(at, match.index))
    parts.push({variable: match[1]!, text: match[0]})
    at = match.index + match[0].length
  }
  if (at < text.length) parts.push(text.slice(at))
  return parts
}

const textOf = (part: ArgvPart): string => (typeof part === 'string' ? part : part.text)

/** The argv with each reference replaced by its variable's value; one not in `variables` stays as written. */
export function renderArgv(words: readonly ArgvWord[], variables: Readonly<Record<string, string>>): string[] {
  return words.map((word) =>
    word.map((part) => (typeof part === 'string' ? part : (variables[part.variable] ?? part.text))).join(''),
  )
}
