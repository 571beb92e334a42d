/**
 * Service tables → the text of launcho's nftables table. Pure, so unit tests pin the exact ruleset.
 *
 * Shape per service with live backends: one DNAT rule in each nat chain (output for local clients,
 * prerouting for clients from other namespaces) whose map sends slot indexes to
 * `ip daddr . tcp dport`. Every service has a `reject with tcp reset` rule for what was not
 * translated, so without a live backend its clients are refused at once rather than left waiting.
 */
import type {Backend, Endpoint, ServiceTable} from './balancer.js'
import {createHash} from 'node:crypto'
import {endpointKey} from './table-check.js'
import {byCodeUnits} from '../text-order.js'

export const NFT_TABLE = 'launcho'
/** Weights are expressed as repeated map slots; more slots than this are scaled down. */
export const MAX_SLOTS = 64

/**
 * The backends' slots, in an interleaved order (smooth weighted round-robin, as nginx does) so a
 * weight-3 backend gets every other connection rather than three in a row. Weight 0 = no slot.
 */
export function weightSlots(backends: Backend[], maxSlots = MAX_SLOTS): Endpoint[] {
  const live = backends.filter((b) => b.weight > 0).sort((a, b) => compareEndpoints(a, b))
  if (live.length === 0) return []
  const divisor = live.reduce((g, b) => gcd(g, b.weight), 0)
  let weights = live.map((b) => b.weight / divisor)
  const total = weights.reduce((sum, w) => sum + w, 0)
  if (total > maxSlots) weights = weights.map((w) => Math.max(1, Math.round((w * maxSlots) / total)))
  const slots: Endpoint[] = []
  const current = weights.map(() => 0)
  const sum = weights.reduce((s, w) => s + w, 0)
  for (let n = 0; n < sum; n++) {
    let best = 0
    for (let i = 0; i < weights.length; i++) {
      current[i] += weights[i]
      if (current[i] > current[best]) best = i
    }
    current[best] -= sum
    slots.push({host: live[best].host, port: live[best].port})
  }
  return slots
}

/** The four base chains, in the order they are declared. */
const CHAINS = [
  {name: 'nat_output', hook: 'type nat hook output priority -100'},
  {name: 'nat_prerouting', hook: 'type nat hook prerouting priority -100'},
  {name: 'refuse_output', hook: 'type filter hook output priority 0'},
  {name: 'refuse_input', hook: 'type filter hook input priority 0'},
] as const
export const CHAIN_NAMES: readonly string[] = CHAINS.map((c) => c.name)

/**
 * The whole `table ip launcho { … }` block for these services (sorted, so input order is irrelevant).
 * Each service's slot map is named after its contents (`svc_<service>_<hash>`) and never changed:
 * a new set of backends is a new map, and the old one is deleted only by a later transaction, once
 * no rule uses it (renderSetRemoval). (A map changed, or an anonymous one deleted with its rule, in the transaction
 * that swaps the rules is empty to a packet that read the old rule just before the swap: it went
 * untranslated and was refused, seen in CI.) Every service also has a refuse rule: a new connection
 * to its address that no DNAT rule translated (no live backend) gets a TCP reset, so nothing else
 * listening there ever answers.
 */
export function renderTable(tables: ServiceTable[]): string {
  const sorted = [...tables].sort((a, b) => byCodeUnits(a.name, b.name))
  const maps: string[] = []
  const dnat: string[] = []
  const refuse: string[] = []
  for (const table of sorted) {
    const slots = weightSlots(table.backends)
    const match = `ip daddr ${table.on.host} tcp dport ${table.on.port}`
    refuse.push(`${match} ct state new reject with tcp reset`)
    if (slots.length === 0) continue
    const elements = slots.map((slot, i) => `${i} : ${slot.host} . ${slot.port}`).join(', ')
    const name = mapName(table.name, elements)
    maps.push(`\tmap ${name} {\n\t\ttypeof numgen inc mod ${slots.length} : ip daddr . tcp dport\n\t\telements = { ${elements} }\n\t}\n`)
    dnat.push(`${match} dnat ip to numgen inc mod ${slots.length} map @${name}`)
  }
  const rules = {nat_output: dnat, nat_prerouting: dnat, refuse_output: refuse, refuse_input: refuse}
  return `table ip ${NFT_TABLE} {\n${maps.join('')}${CHAINS.map((c) => chain(c.name, c.hook, rules[c.name])).join('')}}\n`
}

function mapName(service: string, elements: string): string {
  return `svc_${service}_${createHash('sha256').update(elements).digest('hex').slice(0, 8)}`
}

/** What a table holds besides launcho's four chains and its maps in use: hand edits, maps no rule uses. */
export interface Leftovers {
  chains: string[]
  sets: string[]
}

/**
 * One atomic `nft -f -` transaction that gives launcho's table exactly these rules **without
 * re-registering its hooks**: the base chains are declared (a no-op when they exist), flushed and
 * refilled, so each chain swaps its old rules for the new ones in one step. Deleting and recreating
 * the table instead unhooks the old chains and hooks new ones, and a packet already past the hook
 * list while that happens meets neither ruleset: it went to whatever listens on the service's own
 * address (seen under CPU load, a few in a thousand swaps). Established connections keep their NAT
 * binding in conntrack, so replacing the rules never moves or breaks them.
 */
export function renderTransaction(tables: ServiceTable[], leftovers: Leftovers = {chains: [], sets: []}): string {
  const declare = CHAINS.map((c) => `add chain ip ${NFT_TABLE} ${c.name} { ${c.hook}; policy accept; }\n`).join('')
  const flush = [...CHAIN_NAMES, ...leftovers.chains].map((name) => `flush chain ip ${NFT_TABLE} ${name}\n`).join('')
  const remove = leftovers.chains.map((name) => `delete chain ip ${NFT_TABLE} ${name}\n`).join('')
  return `add table ip ${NFT_TABLE}\n${declare}${flush}${remove}${renderTable(tables)}`
}

/**
 * Deletes maps no rule uses, in a transaction of its own after the one that stopped using them:
 * a packet that read an old rule just before that swap still finds the old map's elements.
 */
export function renderSetRemoval(sets: string[]): string {
  return sets.map((name) => `delete set ip ${NFT_TABLE} ${name}\n`).join('')
}

/** The last resort when the in-place transaction fails (a chain changed by hand): replace the table. */
export function renderReplacement(tables: ServiceTable[]): string {
  return `table ip ${NFT_TABLE} {}\ndelete table ip ${NFT_TABLE}\n${renderTable(tables)}`
}

function chain(name: string, hook: string, rules: string[]): string {
  return `\tchain ${name} {\n\t\t${hook}; policy accept;\n${rules.map((rule) => `\t\t${rule}\n`).join('')}\t}\n`
}

function compareEndpoints(a: Endpoint, b: Endpoint): number {
  const [x, y] = [endpointKey(a), endpointKey(b)]
  return x < y ? -1 : x > y ? 1 : 0
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b)
}
