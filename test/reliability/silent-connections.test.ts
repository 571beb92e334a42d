/**
 * Connections that never send a complete request: TLS finished and then silence, or half a header
 * line and then silence, must be cut by the headers timeout (10 s from accept); a flood of them
 * must neither lock out a client connecting meanwhile nor use up the server's file descriptors.
 */
import assert from 'node:assert/strict'
import {readdir} from 'node:fs/promises'
import {after, before, describe, it} from 'node:test'
import {Harness} from '../helpers/harness.js'
import {NetAgent} from './helpers/agent.js'
import {say, sleep} from './helpers/common.js'

const HOLD_SECONDS = 16
/** The server's cap on connections without a request yet (CAP in src/api/server.ts). */
const CAP = 256
const FLOOD_TCP = 300
const FLOOD_TLS = 100

describe('silent connections', () => {
  let h: Harness
  let agent: NetAgent
  before(async () => {
    h = await Harness.start()
    agent = await NetAgent.start(h.sandbox.netns)
  })
  after(async () => {
    await agent?.close()
    await h?.close()
  })

  const openFds = async () => (await readdir(`/proc/${h.server!.pid}/fd`)).length
  const closed = (r: {closedAt: Array<number | null>}) => r.closedAt.filter((ms): ms is number => ms !== null).sort((a, b) => a - b)

  it('20 silent TLS connections, 20 with half a header line and 10 that say hello after 8 s are cut at about 10 s while the CLI keeps working', async (t) => {
    const silent = agent.slowloris(h.port, 20, HOLD_SECONDS, 1_000, 'tls-silent')
    const half = agent.slowloris(h.port, 20, HOLD_SECONDS, 1_000, 'half-line')
    // 10 s is for the TLS handshake and the headers together, not 10 s for each.
    const late = agent.slowloris(h.port, 10, HOLD_SECONDS, 8_000, 'late-hello')
    let cliCalls = 0
    const started = Date.now()
    while (Date.now() - started < 8_000) {
      const status = await h.cli(['status'])
      assert.equal(status.code, 0, status.stderr)
      cliCalls++
      await sleep(500)
    }
    const [tlsSilent, halfLine, lateHello] = await Promise.all([silent, half, late])
    for (const [what, result] of [['silent after TLS', tlsSilent], ['half a header line', halfLine], ['TLS hello after 8 s, then silent', lateHello]] as const) {
      const cut = closed(result)
      const count = result.closedAt.length
      say(t, `${what}: ${count} connections, ${result.handshaken} handshaken, ${cut.length} cut by the server${cut.length ? ` (at ${cut[0]}–${cut.at(-1)} ms)` : ''}`)
      assert.equal(result.handshaken, count)
      assert.equal(cut.length, count, `${what}: ${count - cut.length} still open after ${HOLD_SECONDS} s`)
      assert.ok(cut[0]! >= 9_000 && cut.at(-1)! <= 12_500, `${what}: cut at ${cut[0]}–${cut.at(-1)} ms, not at about 10 s`)
    }
    say(t, `meanwhile ${cliCalls} CLI status calls, all exit 0`)
  })

  // 400 in all: more than the cap, fewer than the listen backlog (511), so the kernel hands every
  // one to the server at once and each one's 10 s start at the flood's start.
  it(`a flood of ${FLOOD_TCP + FLOOD_TLS} connections without a request leaves the server answering, its descriptors bounded`, async (t) => {
    const baseline = await openFds()
    let peak = baseline
    const sampler = setInterval(() => void openFds().then((n) => (peak = Math.max(peak, n)), () => {}), 20)
    const flood = agent.slowloris(h.port, FLOOD_TCP, HOLD_SECONDS, 1_000, 'silent')
    const tlsFlood = agent.slowloris(h.port, FLOOD_TLS, HOLD_SECONDS, 1_000, 'tls-silent')
    let cliCalls = 0
    const started = Date.now()
    try {
      await sleep(500)
      while (Date.now() - started < 8_000) {
        const status = await h.cli(['status'])
        assert.equal(status.code, 0, `status during the flood: ${status.stderr}`)
        cliCalls++
        await sleep(300)
      }
      await Promise.all([flood, tlsFlood])
    } finally {
      clearInterval(sampler)
    }
    const [tcp, tls] = await Promise.all([flood, tlsFlood])
    const total = tcp.closedAt.length + tls.closedAt.length
    const cut = [...closed(tcp), ...closed(tls)].sort((a, b) => a - b)
    const atOnce = cut.filter((ms) => ms < 5_000).length
    const after = await openFds()
    say(t, `${tcp.closedAt.length} TCP + ${tls.closedAt.length} TLS connections without a request: ${atOnce} closed at once to stay under ${CAP} waiting, ${cut.length} closed in all by ${cut.at(-1)} ms`)
    say(t, `server descriptors: ${baseline} before, peak ${peak} during, ${after} after; ${cliCalls} CLI status calls during the flood, all exit 0`)
    assert.equal(cut.length, total, 'every one closed by the server')
    assert.ok(cut.at(-1)! <= 12_500, `the last closed at ${cut.at(-1)} ms`)
    assert.ok(atOnce >= total - CAP - 10, `only ${atOnce} closed to make room`)
    assert.ok(peak <= baseline + CAP + 30, `descriptors peaked at ${peak} (baseline ${baseline})`)
    assert.ok(after <= baseline + 10, `descriptors after: ${after} (baseline ${baseline})`)
  })
})
