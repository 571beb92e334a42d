import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {Backend, ServiceTable} from '../../src/lb/balancer.js'
import {leftoversIn} from '../../src/lb/nft-listing.js'
import {renderReplacement, renderSetRemoval, renderTable, renderTransaction, weightSlots} from '../../src/lb/nft-render.js'
import {checkTables} from '../../src/lb/table-check.js'

const b = (port: number, weight = 1): Backend => ({host: '127.0.0.1', port, weight})
const web = (...backends: Backend[]): ServiceTable => ({name: 'web', on: {host: '127.0.0.1', port: 5000}, backends})

const chains = (dnat: string[], refuse: string[]) => `\tchain nat_output {
\t\ttype nat hook output priority -100; policy accept;
${dnat.map((r) => `\t\t${r}\n`).join('')}\t}
\tchain nat_prerouting {
\t\ttype nat hook prerouting priority -100; policy accept;
${dnat.map((r) => `\t\t${r}\n`).join('')}\t}
\tchain refuse_output {
\t\ttype filter hook output priority 0; policy accept;
${refuse.map((r) => `\t\t${r}\n`).join('')}\t}
\tchain refuse_input {
\t\ttype filter hook input priority 0; policy accept;
${refuse.map((r) => `\t\t${r}\n`).join('')}\t}
`

const refuseWeb = 'ip daddr 127.0.0.1 tcp dport 5000 ct state new reject with tcp reset'

describe('nftables ruleset rendering (golden text)', () => {
  it('one backend: a map named after its contents, a DNAT rule using it, and a refuse rule for what it does not translate', () => {
    const text = renderTable([web(b(20001))])
    const name = /^\tmap (svc_web_[0-9a-f]{8}) \{$/m.exec(text)?.[1]
    assert.equal(
      text,
      `table ip launcho {
\tmap ${name} {
\t\ttypeof numgen inc mod 1 : ip daddr . tcp dport
\t\telements = { 0 : 127.0.0.1 . 20001 }
\t}
${chains([`ip daddr 127.0.0.1 tcp dport 5000 dnat ip to numgen inc mod 1 map @${name}`], [refuseWeb])}}
`,
    )
    assert.notEqual(/map (svc_web_\w+)/.exec(renderTable([web(b(20002))]))?.[1], name, 'other backends, another map')
  })

  it('two backends, in address order whatever the input order', () => {
    const text = renderTable([web(b(20002), b(20001))])
    assert.ok(text.includes('elements = { 0 : 127.0.0.1 . 20001, 1 : 127.0.0.1 . 20002 }\n'), text)
    assert.equal(text, renderTable([web(b(20001), b(20002))]))
  })

  it('three backends with weights 2:1:1 get interleaved slots', () => {
    const text = renderTable([web(b(20001, 2), b(20002), b(20003))])
    assert.ok(text.includes('elements = { 0 : 127.0.0.1 . 20001, 1 : 127.0.0.1 . 20002, 2 : 127.0.0.1 . 20003, 3 : 127.0.0.1 . 20001 }'), text)
    assert.match(text, /dnat ip to numgen inc mod 4 map @svc_web_/)
  })

  it('weights are reduced by their common divisor and capped at 64 slots', () => {
    assert.deepEqual(weightSlots([b(1, 40), b(2, 20)]).map((s) => s.port), [1, 2, 1])
    const slots = weightSlots([b(1, 1000), b(2, 1)])
    assert.ok(slots.length <= 65, `${slots.length} slots`)
    assert.equal(slots.filter((s) => s.port === 2).length, 1, 'a live backend keeps at least one slot')
  })

  it('a draining backend (weight 0) is left out of the map', () => {
    const text = renderTable([web(b(20001), b(20002, 0))])
    assert.ok(text.includes('elements = { 0 : 127.0.0.1 . 20001 }'), text)
    assert.ok(!text.includes('20002'), text)
  })

  it('a service without live backends has only its refuse rule', () => {
    const expected = `table ip launcho {\n${chains([], [refuseWeb])}}\n`
    assert.equal(renderTable([web()]), expected)
    assert.equal(renderTable([web(b(20001, 0))]), expected)
  })

  it('several services: one rule each per chain, sorted by name', () => {
    const api: ServiceTable = {name: 'api', on: {host: '10.99.0.10', port: 80}, backends: [b(20010)]}
    const text = renderTable([web(b(20001)), api])
    assert.match(text, /\t\tip daddr 10\.99\.0\.10 tcp dport 80 dnat ip to numgen inc mod 1 map @svc_api_\w{8}\n\t\tip daddr 127\.0\.0\.1 tcp dport 5000/)
    assert.ok(text.includes('\t\tip daddr 10.99.0.10 tcp dport 80 ct state new reject with tcp reset\n\t\t' + refuseWeb), text)
    assert.equal(renderTable([]), `table ip launcho {\n${chains([], [])}}\n`)
  })

  it('the transaction keeps the base chains hooked: declares, flushes and refills them, and removes leftovers', () => {
    const declare = [
      'add chain ip launcho nat_output { type nat hook output priority -100; policy accept; }',
      'add chain ip launcho nat_prerouting { type nat hook prerouting priority -100; policy accept; }',
      'add chain ip launcho refuse_output { type filter hook output priority 0; policy accept; }',
      'add chain ip launcho refuse_input { type filter hook input priority 0; policy accept; }',
    ]
    const flush = ['nat_output', 'nat_prerouting', 'refuse_output', 'refuse_input'].map((c) => `flush chain ip launcho ${c}`)
    assert.equal(renderTransaction([]), ['add table ip launcho', ...declare, ...flush].join('\n') + '\n' + renderTable([]))
    const text = renderTransaction([web(b(20001))], {chains: ['mine'], sets: ['svc_web']})
    assert.ok(!text.includes('delete table'), text)
    assert.ok(text.includes('flush chain ip launcho mine\ndelete chain ip launcho mine\n'), text)
    assert.ok(!text.includes('delete set'), 'maps go in a later transaction')
    assert.equal(renderSetRemoval(['svc_web']), 'delete set ip launcho svc_web\n')
    assert.equal(renderReplacement([]), `table ip launcho {}\ndelete table ip launcho\n${renderTable([])}`)
  })

  it('reads leftovers from the listing, and gives up on what only a replacement removes', () => {
    const listing = (body: string) => `table ip launcho {\n${body}}\n`
    assert.deepEqual(leftoversIn(''), {chains: [], sets: []})
    assert.deepEqual(leftoversIn(renderTable([web(b(20001))])), {chains: [], sets: []})
    const earlier = listing('\tmap svc_web {\n\t\ttypeof numgen inc mod 1 : ip daddr . tcp dport\n\t\telements = { 0 : 127.0.0.1 . 20001 }\n\t}\n\n\tchain nat_output {\n\t\ttype nat hook output priority -100; policy accept;\n\t}\n\n\tchain extra {\n\t}\n\n\tset blocked {\n\t\ttype ipv4_addr\n\t}\n')
    assert.deepEqual(leftoversIn(earlier), {chains: ['extra'], sets: ['svc_web', 'blocked']})
    // The map the installed rules use stays until a later transaction, whatever is wanted now.
    const installed = renderTable([web(b(20001))])
    assert.deepEqual(leftoversIn(installed), {chains: [], sets: []})
    assert.ok(!renderTransaction([web(b(20002))], leftoversIn(installed)).includes('delete set'))
    assert.equal(leftoversIn(listing('\tflags dormant\n')), undefined)
    assert.equal(leftoversIn(listing('\tcounter hits {\n\t\tpackets 0 bytes 0\n\t}\n')), undefined)
  })

  it('refuses tables whose values could smuggle nft syntax in', () => {
    const bad = [
      {...web(b(1)), name: 'web; flush ruleset'},
      {...web(b(1)), on: {host: '127.0.0.1 } ; flush ruleset ; {', port: 5000}},
      web({host: '127.0.0.1', port: 70000, weight: 1}),
      web({host: '127.0.0.1', port: 20001, weight: 1.5}),
    ]
    for (const table of bad) assert.throws(() => checkTables([table]), {code: 'invalid_request'})
    assert.throws(() => checkTables([web(b(1)), {...web(b(2)), name: 'other'}]), /already the address of service "web"/)
  })
})
