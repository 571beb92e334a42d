/**
 * Benchmark: requests per second through each load-balancer backend against a direct connection to
 * one instance, with the same load tool (wrk) in the same run. Each backend gets its own sandbox
 * systemd and launcho server (`lb:` set in its config) with the same N copies of
 * test/fixtures/web-app.cjs behind the service 127.0.0.1:5000; "direct" is web-1's own port in that
 * same sandbox, measured back to back with the backend in every round. wrk runs inside the sandbox's
 * network namespace, so all load stays on that namespace's loopback.
 *
 *   npm run build && node dist/bench/lb.js [--seconds 4] [--rounds 7] [--connections 32] [--threads 2] [--instances 1] [--proxy-workers N]
 *
 * With one instance (the default) the only difference from direct is the data path. With
 * --instances 2 the service has twice the app processes that direct has, which on a 2-core machine
 * mostly measures CPU share; the comparison between backends stays fair (same instances behind each).
 * --proxy-workers sets the server's proxyWorkers (the userspace proxy's threads; default half the CPUs).
 *
 * "CPU busy" is the whole machine's over each run: near 100 % means req/s is what the CPUs can do
 * with everything on the path (wrk, the app, the proxy or NAT, the loopback TCP stack), and the
 * ratio compares CPU cost per request rather than any one component's ceiling.
 */
import {execFile} from 'node:child_process'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {machineCpu, pidsInSandbox, processCpu} from './lib/cpu.js'
import {cpus, loadavg} from 'node:os'
import {parseArgs, promisify} from 'node:util'
import type {Harness} from '../test/helpers/harness.js'
import {closeOnInterrupt, SERVICE_URL, startServer, target, waitServing, type Lb} from './lib/sandbox.js'
import {median} from './lib/stats.js'
import {checkWrk, describeWrk, wrk, type WrkOptions, type WrkResult} from './lib/wrk.js'

const {values} = parseArgs({
  options: {
    seconds: {type: 'string', default: '4'},
    rounds: {type: 'string', default: '7'},
    connections: {type: 'string', default: '32'},
    threads: {type: 'string', default: '2'},
    instances: {type: 'string', default: '1'},
    'proxy-workers': {type: 'string'},
  },
})
const SECONDS = Number(values.seconds)
const ROUNDS = Number(values.rounds)
const INSTANCES = Number(values.instances)
const PROXY_WORKERS = values['proxy-workers']
const BACKENDS: Lb[] = ['nftables', 'userspace']
const MODES = [
  {name: 'keep-alive', close: false, aims: {nftables: 0.95, userspace: 0.8}},
  {name: 'connection per request', close: true, aims: {nftables: 0.95, userspace: 0.7}},
] as const satisfies ReadonlyArray<{name: string; close: boolean; aims: Record<Lb, number>}>

const run = promisify(execFile)
/**
 * Ephemeral ports for wrk's connections: one half for the direct runs, the other for the runs
 * through the service. Without the split, a connection DNAT'ed to an instance's port can reuse the
 * 4-tuple of a direct connection still in TIME_WAIT at the instance (its server side closes first),
 * and the SYN, whose sequence number was derived from the other tuple, is refused there (nstat:
 * TcpExtPAWSTimewait, TcpExtTCPSynRetrans): a 1 s SYN retransmit, halving nftables' req/s. That is an
 * artifact of mixing both kinds of connection to one port within 60 s, which clients of a service
 * do not do (launcho's 1/s health checks did it once in ~20,000 connections when measured).
 */
const PORTS = {direct: '32768 46999', service: '47000 60999'}
const portRange = (h: Harness, range: string) =>
  run('nsenter', [`--net=${h.sandbox.netns}`, '--', 'sysctl', '-q', '-w', `net.ipv4.ip_local_port_range=${range}`])

interface Row {
  label: string
  runs: WrkResult[]
  /** The machine's CPU busy fraction over each run. */
  busy: number[]
  /** CPU µs per request over each run: the app instance's, and the userspace proxy's (all its threads). */
  appUs: number[]
  proxyUs: number[]
}

/** The processes on the path whose CPU time is recorded. */
interface Watched {
  app?: number
  proxy?: number
}

/** Runs wrk and records, beside its result, the machine's CPU busy fraction and the CPU per request of the watched processes. */
async function measure(h: Harness, url: string, options: WrkOptions, row: Row, watched: Watched): Promise<void> {
  const sample = async () => ({machine: await machineCpu(), app: await cpuOf(watched.app), proxy: await cpuOf(watched.proxy)})
  const before = await sample()
  const result = await wrk(h, url, options)
  const after = await sample()
  row.runs.push(result)
  row.busy.push((after.machine.busy - before.machine.busy) / Math.max(1, after.machine.total - before.machine.total))
  const requests = Math.max(1, result.rps * options.seconds)
  row.appUs.push(((after.app - before.app) * 1000) / requests)
  row.proxyUs.push(((after.proxy - before.proxy) * 1000) / requests)
}

const cpuOf = async (pid: number | undefined) => (pid === undefined ? 0 : ((await processCpu(pid)) ?? 0))

/** The userspace proxy's worker threads, from its stats file. */
async function proxyThreads(h: Harness): Promise<number | undefined> {
  const stats = JSON.parse(await readFile(join(h.stateDir, 'proxy', 'stats.json'), 'utf8').catch(() => '{}')) as {workers?: unknown[]}
  return stats.workers?.length
}

const banner = await checkWrk()
const harnesses: Harness[] = []
closeOnInterrupt(() => harnesses)
try {
  console.log(`${banner}; ${cpus().length} CPUs (${cpus()[0]?.model.trim()}), load average ${loadavg()[0]!.toFixed(2)}`)
  console.log(`Note: wrk, the app instances, the proxy (userspace) or the kernel's NAT (nftables) all share these ${cpus().length} cores,`)
  console.log('so figures are relative: each backend is compared with the direct path measured next to it, in the same run.')
  console.log(`Direct and service runs use separate halves of the ephemeral port range (${PORTS.direct} / ${PORTS.service}; see PORTS in bench/lb.ts).`)
  console.log('ipvs: not available on this kernel (see npm run test:ipvs for the qemu test)\n')

  const apps = Array.from({length: INSTANCES}, (_, i) => ({name: `web-${i + 1}`}))
  const servers = await Promise.all(BACKENDS.map(async (lb) => {
    const h = await startServer(lb, lb === 'userspace' && PROXY_WORKERS !== undefined ? `proxyWorkers: ${Number(PROXY_WORKERS)}\n` : '')
    harnesses.push(h)
    await h.setTarget(target(apps))
    const instances = await waitServing(h, apps.map((a) => a.name))
    const watched: Watched = {app: (await pidsInSandbox(h, 'web-app.cjs'))[0], proxy: (await pidsInSandbox(h, '/lb/proxy/main.js'))[0]}
    return {lb, h, direct: `http://127.0.0.1:${instances['web-1']!.ports.web}/`, watched}
  }))
  console.log(`${INSTANCES} instance(s) of web-app.cjs behind ${SERVICE_URL} in each sandbox; direct = web-1's own port (${servers.map((s) => `${s.lb}: ${s.direct}`).join(', ')})`)
  const userspace = servers.find((s) => s.lb === 'userspace')
  if (userspace) {
    const threads = await proxyThreads(userspace.h)
    console.log(`userspace proxy: ${threads ?? '?'} worker thread(s) (proxyWorkers: ${PROXY_WORKERS ?? 'default, half the CPUs'})`)
  }
  if (INSTANCES > 1) console.log(`(the service has ${INSTANCES} app processes, direct has 1: on ${cpus().length} cores this favours the service; use --instances 1 for the data path alone)`)
  console.log('Each round measures direct and the backend back to back (alternating which goes first); the ratio is the median of the per-round ratios (background load drifts).')
  console.log('SYN retx: SYN retransmissions in the namespace over all rounds of that path (each one a connection that waited ≥ 1 s).')
  console.log('CPU busy: the whole machine over each run, median (near 100 %: the CPUs, not one component, set req/s).')
  console.log("app µs, proxy µs: CPU time per request of the app instance and of the userspace proxy (all its threads, kernel time included), median.\n")

  // Warm up JIT, socket buffers and the proxy before anything counts.
  for (const {h, direct} of servers) {
    await portRange(h, PORTS.direct)
    await wrk(h, direct, {threads: 1, connections: 8, seconds: 2})
    await portRange(h, PORTS.service)
    await wrk(h, SERVICE_URL, {threads: 1, connections: 8, seconds: 2})
  }

  for (const mode of MODES) {
    const options: WrkOptions = {threads: Number(values.threads), connections: Number(values.connections), seconds: SECONDS, close: mode.close}
    const row = (label: string): Row => ({label, runs: [], busy: [], appUs: [], proxyUs: []})
    const rows = servers.flatMap(({lb}) => [row(`direct (${lb} sandbox)`), row(lb)])
    for (let round = 1; round <= ROUNDS; round++) {
      const line: string[] = []
      for (const [i, {lb, h, direct, watched}] of servers.entries()) {
        const [directRow, lbRow] = [rows[2 * i]!, rows[2 * i + 1]!]
        // Alternate which goes first, so neither side gains from the order.
        const pair = [
          async () => (await portRange(h, PORTS.direct), await measure(h, direct, options, directRow, watched)),
          async () => (await portRange(h, PORTS.service), await measure(h, SERVICE_URL, options, lbRow, watched)),
        ]
        for (const measure of round % 2 === 1 ? pair : pair.reverse()) await measure()
        line.push(`direct ${directRow.runs.at(-1)!.rps.toFixed(0)}, ${lb} ${lbRow.runs.at(-1)!.rps.toFixed(0)}`)
      }
      console.log(`${mode.name} round ${round}/${ROUNDS} (req/s): ${line.join('; ')}`)
    }
    printTable(`${mode.name}: ${describeWrk(options)}, median of ${ROUNDS} rounds`, rows, mode.aims)
    if (mode.close) console.log("(wrk's latency runs from the request's write to the response: the handshake, and nftables' DNAT decision, show in req/s only)\n")
  }
} finally {
  await Promise.allSettled(harnesses.map((h) => h.close()))
}

function printTable(title: string, rows: Row[], aims: Record<Lb, number>): void {
  console.log(`\n${title}`)
  console.log(
    `${'path'.padEnd(26)}${'req/s'.padStart(9)}${'p50'.padStart(10)}${'p99'.padStart(10)}${'SYN retx'.padStart(10)}${'CPU busy'.padStart(10)}` +
      `${'app µs'.padStart(8)}${'proxy µs'.padStart(10)}  vs direct (median of the per-round ratios)`,
  )
  for (const [i, row] of rows.entries()) {
    const ms = (v: number) => `${v.toFixed(2)} ms`
    let verdict = '1.00'
    if (i % 2 === 1) {
      const lb = row.label as Lb
      const ratios = row.runs.map((r, k) => r.rps / rows[i - 1]!.runs[k]!.rps)
      const ratio = median(ratios)
      verdict = `${ratio.toFixed(2)}  aim ≥ ${aims[lb]}: ${ratio >= aims[lb] ? 'met' : 'NOT met'} (rounds: ${ratios.map((r) => r.toFixed(2)).join(' ')})`
    }
    const errors = [...new Set(row.runs.map((r) => r.errors).filter(Boolean))]
    const rps = median(row.runs.map((r) => r.rps))
    console.log(
      `${row.label.padEnd(26)}${rps.toFixed(0).padStart(9)}${ms(median(row.runs.map((r) => r.p50Ms))).padStart(10)}${ms(median(row.runs.map((r) => r.p99Ms))).padStart(10)}` +
        `${String(row.runs.reduce((sum, r) => sum + r.synRetrans, 0)).padStart(10)}${`${(median(row.busy) * 100).toFixed(0)} %`.padStart(10)}` +
        `${median(row.appUs).toFixed(1).padStart(8)}${(row.label === 'userspace' ? median(row.proxyUs).toFixed(1) : '').padStart(10)}  ${verdict}`,
    )
    if (errors.length > 0) console.log(`${''.padEnd(26)}wrk reported: ${errors.join(' | ')}`)
  }
  // The nftables sandbox's direct path runs through conntrack too (the nat hooks turn it on for the
  // whole namespace); the userspace sandbox's does not. Show the backend against both.
  const nft = rows.find((r) => r.label === 'nftables')
  const plain = rows.find((r) => r.label === 'direct (userspace sandbox)')
  if (nft && plain) {
    const ratios = nft.runs.map((r, k) => r.rps / plain.runs[k]!.rps)
    console.log(`nftables vs the userspace sandbox's direct path (no conntrack there): ${median(ratios).toFixed(2)} (rounds: ${ratios.map((r) => r.toFixed(2)).join(' ')})`)
  }
  console.log('')
}
