/** Plain-text output helpers for the CLI's human tables. */
import {createRequire} from 'node:module'

// Printable ASCII (what nearly every cell is) is as wide as it is long; string-width, whose
// Unicode tables cost ~25 ms to load, only for the rest. A negated class without a quantifier:
// `^[…]*$` overflows V8's backtrack stack on strings of millions of characters.
const NOT_PLAIN = /[^\x20-\x7e]/
let unicodeWidth: ((text: string) => number) | undefined

function stringWidth(text: string): number {
  if (!NOT_PLAIN.test(text)) return text.length
  unicodeWidth ??= (createRequire(import.meta.url)('string-width') as {default: (text: string) => number}).default
  return unicodeWidth(text)
}

export interface TableOptions {
  /** Total width to fit in (the terminal's); undefined: as wide as the cells are. */
  width?: number
  /** Column indexes hidden, in this order, while the table is too wide (the caller shows them otherwise). */
  optional?: number[]
  /** Column indexes that may be cut to fit, the first cut first; each keeps at least `minWidth`. */
  shrink?: number[]
  minWidth?: number
  /** Decorates a cell after layout (colour), so escape codes never count towards widths. */
  decorate?: (column: number, text: string) => string
}

const GAP = 2

/**
 * Columns separated by two spaces. Too wide for `width`: the `optional` columns are hidden, then
 * the `shrink` columns cut with "…". Returns the text and which columns it left out.
 */
export function fittedTable(headers: string[], rows: string[][], options: TableOptions = {}): {text: string; hidden: Set<number>} {
  // One test per row instead of per cell: nearly every row is printable ASCII (1000 rows: ~10 ms less).
  const plain = rows.map((row) => !NOT_PLAIN.test(row.join('')))
  const natural = headers.map(stringWidth)
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!
    for (let i = 0; i < headers.length; i++) {
      const cell = row[i] ?? ''
      const width = plain[r] ? cell.length : stringWidth(cell)
      if (width > natural[i]!) natural[i] = width
    }
  }
  const hidden = new Set<number>()
  const total = () => natural.reduce((sum, w, i) => (hidden.has(i) ? sum : sum + w + GAP), -GAP)
  for (const i of options.optional ?? []) {
    if (options.width === undefined || total() <= options.width) break
    hidden.add(i)
  }
  const index = headers.map((_, i) => i).filter((i) => !hidden.has(i))
  const widths = index.map((i) => natural[i]!)
  const shrink = (options.shrink ?? []).filter((i) => !hidden.has(i)).map((i) => index.indexOf(i))
  if (options.width !== undefined) fit(widths, options.width, shrink, options.minWidth ?? 8)
  const decorate = options.decorate
  const separator = ' '.repeat(GAP)
  const line = (cells: string[], isPlain: boolean, decorated: boolean) => {
    let out = ''
    for (let k = 0; k < index.length; k++) {
      const cell = cells[index[k]!] ?? ''
      const width = widths[k]!
      const cellWidth = isPlain ? cell.length : stringWidth(cell)
      const text = cellWidth <= width ? cell : cut(cell, width)
      const padded = k === index.length - 1 ? text : text + ' '.repeat(width - (text === cell ? cellWidth : stringWidth(text)))
      out += (k === 0 ? '' : separator) + (decorated && decorate ? decorate(index[k]!, padded) : padded)
    }
    return out.trimEnd()
  }
  const lines = [line(headers, !NOT_PLAIN.test(headers.join('')), false)]
  for (let r = 0; r < rows.length; r++) lines.push(line(rows[r]!, plain[r]!, true))
  return {text: lines.join('\n'), hidden}
}

export function table(headers: string[], rows: string[][], options: TableOptions = {}): string {
  return fittedTable(headers, rows, options).text
}

function fit(widths: number[], width: number, shrink: number[], minWidth: number): void {
  let excess = widths.reduce((sum, w) => sum + w, 0) + GAP * (widths.length - 1) - width
  for (const i of shrink) {
    if (excess <= 0) return
    const cut = Math.min(excess, Math.max(0, widths[i]! - minWidth))
    widths[i]! -= cut
    excess -= cut
  }
}

/** The text cut to `width` columns, ending in "…" when anything was cut. */
export function cut(text: string, width: number): string {
  if (stringWidth(text) <= width) return text
  let out = ''
  for (const char of text) {
    if (stringWidth(out + char) > width - 1) break
    out += char
  }
  return `${out}…`
}

/** How wide the output may be: the terminal's width, else $COLUMNS, else unbounded (a pipe, a file). */
export function outputWidth(stream: NodeJS.WriteStream = process.stdout): number | undefined {
  if (stream.isTTY && stream.columns > 0) return stream.columns
  const columns = Number(process.env.COLUMNS)
  return Number.isInteger(columns) && columns > 0 ? columns : undefined
}

/** Colour only on a terminal, and never with NO_COLOR set (https://no-color.org). */
export function useColour(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb'
}

export function duration(seconds: number | undefined): string {
  if (seconds === undefined) return '-'
  if (seconds < 60) return `${seconds}s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`
  return `${Math.floor(seconds / 86_400)}d${String(Math.floor((seconds % 86_400) / 3600)).padStart(2, '0')}h`
}

/** Bytes in binary units, as systemd writes them: "812K", "12.3M", "1.5G". */
export function byteSize(bytes: number | undefined): string {
  if (bytes === undefined) return '-'
  const units = ['B', 'K', 'M', 'G', 'T']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${bytes}B` : `${value >= 100 ? Math.round(value) : value.toFixed(1).replace(/\.0$/, '')}${units[unit]}`
}

/** CPU time: "0.42s" under a minute, then like an uptime. */
export function cpuTime(seconds: number | undefined): string {
  if (seconds === undefined) return '-'
  return seconds < 60 ? `${seconds.toFixed(2)}s` : duration(Math.round(seconds))
}

export function localTime(iso: string): string {
  const date = new Date(iso)
  return `${date.toISOString().slice(0, 10)} ${date.toTimeString().slice(0, 8)}`
}
