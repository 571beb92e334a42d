/**
 * Reads untrusted YAML text into a plain value while keeping the document, so problems found
 * later can point at a line and column. Guards against hostile input: size, nesting depth
 * (yaml's composer recurses) and alias expansion.
 */
import {Composer, isAlias, isMap, isNode, isScalar, isSeq, Lexer, LineCounter, Parser, visit} from 'yaml'
import type {Alias, CST, Document, Node} from 'yaml'
import type {Problem} from '../errors.js'

export const MAX_TARGET_BYTES = 1024 * 1024
const MAX_ALIASES = 100
/** Far above what a valid target needs (6 levels), far below what overflows the stack. */
const MAX_DEPTH = 64
/**
 * Far above what a valid target needs (1000 processes with env, health and a script are about
 * 170 000), far below what makes the parser's tree cost seconds and hundreds of MB (a 1 MiB target
 * can hold 800 000).
 */
export const MAX_TOKENS = 400_000

export interface YamlSource {
  doc: Document.Parsed
  lines: LineCounter
  /** The document as plain JS; an empty document is `{}`. */
  value: unknown
}

/** The parsed source, or the problems that stop it being read. Never throws. */
export function readYaml(text: string): YamlSource | {problems: Problem[]} {
  const size = Buffer.byteLength(text, 'utf8')
  if (size > MAX_TARGET_BYTES) return {problems: [{message: `the target is ${size} bytes; the limit is 1 MiB`}]}
  const lines = new LineCounter()
  let doc: Document.Parsed
  try {
    // Before the parser builds its tree: a 1 MiB run of "[" costs it seconds and ~600 MB.
    const scan = scanTokens(text)
    if (scan.tooDeepAt !== undefined) {
      return {problems: [{...positionIn(text, scan.tooDeepAt), message: `the YAML is nested more than ${MAX_DEPTH} levels deep`}]}
    }
    if (scan.tooManyAt !== undefined) {
      const message = `the target has more than ${MAX_TOKENS} YAML tokens; split it up, or move long lists into scripts or resources`
      return {problems: [{...positionIn(text, scan.tooManyAt), message}]}
    }
    const tokens = [...new Parser(lines.addNewLine).parse(text)]
    const deep = tooDeep(tokens)
    if (deep !== undefined) {
      return {problems: [{...positionOf(lines, deep), message: `the YAML is nested more than ${MAX_DEPTH} levels deep`}]}
    }
    const docs = [...new Composer().compose(tokens, true, text.length)]
    if (docs.length > 1) {
      const message = 'the target must be a single YAML document; remove the second "---"'
      return {problems: [{...positionOf(lines, docs[1].range[0]), message}]}
    }
    doc = docs[0]
  } catch (error) {
    return {problems: [{line: 1, column: 1, message: `the YAML could not be read: ${errorMessage(error)}`}]}
  }
  if (doc.errors.length > 0) {
    return {problems: doc.errors.map((error) => ({...positionOf(lines, error.pos[0]), message: error.message}))}
  }
  keepScalarSpelling(doc)
  try {
    return {doc, lines, value: doc.toJS({maxAliasCount: MAX_ALIASES}) ?? {}}
  } catch (error) {
    return {problems: [aliasProblem(doc, lines, error)]}
  }
}

/**
 * One pass over the lexer's flat token stream: the offset of the first flow collection ("[" or
 * "{") nested deeper than MAX_DEPTH (quoted and plain scalars and comments are single tokens, so
 * brackets inside them do not count; block nesting needs indentation, which the size limit
 * bounds), or of the token past MAX_TOKENS.
 */
function scanTokens(text: string): {tooDeepAt?: number; tooManyAt?: number} {
  let depth = 0
  let offset = 0
  let count = 0
  for (const token of new Lexer().lex(text)) {
    if (++count > MAX_TOKENS) return {tooManyAt: offset}
    if (token === '[' || token === '{') {
      if (++depth > MAX_DEPTH) return {tooDeepAt: offset}
    } else if (token === ']' || token === '}') {
      depth = Math.max(0, depth - 1)
    }
    offset += token.length
  }
  return {}
}

function positionIn(text: string, offset: number): {line: number; column: number} {
  const before = text.slice(0, offset)
  return {line: before.split('\n').length, column: offset - before.lastIndexOf('\n')}
}

/** Offset of the first collection nested deeper than MAX_DEPTH, walking the syntax tree without recursion. */
function tooDeep(tokens: CST.Token[]): number | undefined {
  const stack: Array<[CST.Token | undefined, number]> = tokens.map((token) => [token, 0])
  for (let entry = stack.pop(); entry; entry = stack.pop()) {
    const [token, depth] = entry
    if (token?.type === 'document') stack.push([token.value, depth])
    if (token?.type !== 'block-map' && token?.type !== 'block-seq' && token?.type !== 'flow-collection') continue
    if (depth >= MAX_DEPTH) return token.offset
    for (const item of token.items) stack.push([item.key ?? undefined, depth + 1], [item.value, depth + 1])
  }
  return undefined
}

/** toJS fails on aliases: too many of them (an expansion bomb) or one whose anchor is not defined before it. */
function aliasProblem(doc: Document.Parsed, lines: LineCounter, error: unknown): Problem {
  let first: Node | undefined
  let unresolved: Alias | undefined
  visit(doc, {
    Alias: (_, alias) => {
      first ??= alias
      if (alias.resolve(doc) !== undefined) return undefined
      unresolved = alias
      return visit.BREAK
    },
  })
  if (unresolved) {
    const name = unresolved.source
    const message = `alias "*${name}" has no anchor "&${name}" before it`
    return {...positionOf(lines, unresolved.range?.[0] ?? 0), message}
  }
  const message = /excessive alias count/i.test(errorMessage(error))
    ? `too many aliases: "*" references expand to more than ${MAX_ALIASES} nodes`
    : `the YAML could not be read: ${errorMessage(error)}`
  return {...positionOf(lines, first?.range?.[0] ?? 0), message}
}

/**
 * Env values and resource ids are strings even when they look like numbers; keep how they were
 * written ("0123", "1.10", "0x1F") instead of the number YAML made of them.
 */
function keepScalarSpelling(doc: Document.Parsed): void {
  const processes = doc.get('processes', true)
  if (!isSeq(processes)) return
  const fix = (node: unknown): void => {
    if (isScalar(node) && typeof node.value !== 'string' && node.value !== null && typeof node.source === 'string') {
      node.value = node.source
    }
  }
  for (const process of processes.items) {
    if (!isMap(process)) continue
    const env = process.get('env', true)
    if (isMap(env)) for (const pair of env.items) fix(pair.value)
    const resources = process.get('resources', true)
    if (isSeq(resources)) for (const resource of resources.items) if (isMap(resource)) fix(resource.get('id', true))
  }
}

/**
 * Line and column of the node at `path`, or of its closest existing ancestor (a missing key points
 * at its map). `at: 'key'` points at the last key itself. Aliases on the way lead to their anchor.
 */
export function positionAt(
  source: YamlSource,
  path: ReadonlyArray<string | number>,
  at?: 'key',
): {line: number; column: number} {
  let node: unknown = source.doc.contents
  let found = isNode(node) ? node : undefined
  for (const [i, segment] of path.entries()) {
    if (isAlias(node)) node = node.resolve(source.doc)
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(segment))
      if (!pair) break
      node = at === 'key' && i === path.length - 1 ? pair.key : pair.value
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment]
    } else {
      break
    }
    if (!isNode(node)) break
    found = node
  }
  return positionOf(source.lines, found?.range?.[0] ?? 0)
}

function positionOf(lines: LineCounter, offset: number): {line: number; column: number} {
  const {line, col} = lines.linePos(offset)
  return {line, column: col}
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
