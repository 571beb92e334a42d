/**
 * Reads `nft list table ip launcho` for what a sync has to remove besides launcho's own chains:
 * chains made by hand, and sets (maps) no rule uses any more: those of the transaction before the
 * last, of earlier launcho versions, or made by hand. A map the installed rules use stays until a
 * later transaction (see nft-render.ts).
 */
import {CHAIN_NAMES, type Leftovers} from './nft-render.js'

const objectLine = /^\t(chain|set|map) ([A-Za-z0-9_.-]+) \{$/

/**
 * The chains and sets to delete, or undefined when the table holds something else at its top level
 * (a flowtable, a named counter, a `flags dormant` line…): then only replacing the whole table
 * restores it. An empty listing (no table) has no leftovers.
 */
export function leftoversIn(listing: string): Leftovers | undefined {
  const leftovers: Leftovers = {chains: [], sets: []}
  const used = new Set([...listing.matchAll(/@([A-Za-z0-9_.-]+)/g)].map((match) => match[1]!))
  for (const line of listing.split('\n')) {
    if (!line.startsWith('\t') || line.startsWith('\t\t')) continue
    if (line === '\t}') continue
    const match = objectLine.exec(line)
    if (!match) return undefined
    const [, kind, name] = match
    if (kind === 'chain') {
      if (!CHAIN_NAMES.includes(name)) leftovers.chains.push(name)
    } else if (!used.has(name)) leftovers.sets.push(name)
  }
  return leftovers
}
