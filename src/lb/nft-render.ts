/**
 * Service tables → the text of launcho's nftables table. Pure, so unit tests pin the exact ruleset.
 *
 * Shape per service with live backends: a map `svc_<name>` from slot index to `ip daddr . tcp dport`
 * and one DNAT rule in each nat chain (output for local clients, prerouting for clients from other
 * namespaces). A service with no live backend gets a `reject with tcp reset` rule instead, so its
 * clients are refused at once rather than left waiting.
 */
import type {Backend, Endpoint, ServiceTable} from './balancer.js'
import {endpointKey} from './table-check.js'

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

/** The whole `table ip launcho { … }` block for these services (sorted, so input order is irrelevant). */
export function renderTable(tables: ServiceTable[]): string {
  const sorted = [...tables].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const maps: string[] = []
  const dnat: string[] = []
  const refuse: string[] = []
  for (const table of sorted) {
    const slots = weightSlots(table.backends)
    const match = `ip daddr ${table.on.host} tcp dport ${table.on.port}`
    if (slots.length === 0) {
      refuse.push(`\t\t${match} ct state new reject with tcp reset`)
      continue
    }
    const elements = slots.map((slot, i) => `${i} : ${slot.host} . ${slot.port}`).join(', ')
    maps.push(
      `\tmap svc_${table.name} {\n` +
        `\t\ttypeof numgen inc mod ${slots.length} : ip daddr . tcp dport\n` +
        `\t\telements = { ${elements} }\n` +
        `\t}\n`,
    )
    dnat.push(`\t\t${match} dnat ip to numgen inc mod ${slots.length} map @svc_${table.name}`)
  }
  return (
    `table ip ${NFT_TABLE} {\n` +
    maps.join('') +
    chain('nat_output', 'type nat hook output priority -100', dnat) +
    chain('nat_prerouting', 'type nat hook prerouting priority -100', dnat) +
    chain('refuse_output', 'type filter hook output priority 0', refuse) +
    chain('refuse_input', 'type filter hook input priority 0', refuse) +
    `}\n`
  )
}

/**
 * One atomic `nft -f -` transaction that replaces launcho's table wholesale. The leading `table`
 * line makes the `delete` valid when the table does not exist yet. Established connections keep
 * their NAT binding in conntrack, so replacing the rules never moves or breaks them.
 */
export function renderTransaction(tables: ServiceTable[]): string {
  return `table ip ${NFT_TABLE} {}\ndelete table ip ${NFT_TABLE}\n${renderTable(tables)}`
}

function chain(name: string, hook: string, rules: string[]): string {
  return `\tchain ${name} {\n\t\t${hook}; policy accept;\n${rules.map((rule) => `${rule}\n`).join('')}\t}\n`
}

function compareEndpoints(a: Endpoint, b: Endpoint): number {
  const [x, y] = [endpointKey(a), endpointKey(b)]
  return x < y ? -1 : x > y ? 1 : 0
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b)
}
