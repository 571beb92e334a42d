/**
 * Benchmark: how fast launcho takes traffic away from a failing instance and back to a replaced one,
 * measured on the balancer's data path by a tight request loop (a new connection per request) run
 * inside the sandbox's network, for each backend (nftables, userspace) and two health policies.
 *
 *  (a) Two instances (a, b) behind the service. a's /health starts answering 500 at a known instant
 *      (a file appears); "out" is the first request after the last one a answered. Also shown: when
 *      the health check flipped to unhealthy and when the server logged "taken out of the balancer".
 *  (b) One instance behind the service. Its main process gets `kill -9` (MainPID from status, in the
 *      sandbox's PID namespace). Shown: when the new process listens (its journal line), when its
 *      PID first answers, when traffic is back for good (first success after the last failure), the
 *      requests that failed in between, and what launcho did meanwhile. Each rep uses a process with
 *      a fresh name, so no rep inherits crash history (3 crashes in 10 s = crash-loop hold-back).
 *
 *   npm run build && node dist/bench/failover.js [--reps 5] [--backends nftables,userspace]
 */
import {execFile} from 'node:child_process'
import {rm, writeFile} from 'node:fs/promises'
import {cpus, loadavg} from 'node:os'
import {parseArgs, promisify} from 'node:util'
import type {Harness} from '../test/helpers/harness.js'
import {Probe, type Sample} from './lib/probe.js'
import {firstLogAt, serverLog} from './lib/server-log.js'
import {closeOnInterrupt, SERVICE_URL, startServer, target, waitServing, type App, type Lb} from './lib/sandbox.js'
import {sleep, summary} from './lib/stats.js'

const run = promisify(execFile)
const {values} = parseArgs({options: {reps: {type: 'string', default: '5'}, backends: {type: 'string', default: 'nftables,userspace'}}})
const REPS = Number(values.reps)
const BACKENDS = values.backends.split(',') as Lb[]

interface Policy {
  label: string
  interval?: string
  failureThreshold?: number
  intervalMs: number
  threshold: number
}
const POLICIES: Policy[] = [
  {label: 'health interval 1s × failureThreshold 3 (the defaults)', intervalMs: 1000, threshold: 3},
  {label: 'health interval 200ms × failureThreshold 2', interval: '200ms', failureThreshold: 2, intervalMs: 200, threshold: 2},
]
const short = (p: Policy) => `${p.intervalMs >= 1000 ? `${p.intervalMs / 1000}s` : `${p.intervalMs}ms`} × ${p.threshold}`
const app = (name: string, policy: Policy, unhealthyFile?: string): App => ({
  name,
  ...(policy.interval ? {interval: policy.interval, failureThreshold: policy.failureThreshold} : {}),
  ...(unhealthyFile ? {unhealthyFile} : {}),
})

const pidOf = (s: Sample) => Number(s.what.split(' ')[1])
const from = (s: Sample, name: string) => s.ok && s.what.startsWith(`${name} `)
const rel = (at: number | undefined, t0: number) => (at === undefined ? 'never' : `${at - t0} ms`)
type Event = {kind: string; process?: string; message: string; time: string}

interface Results {
  unhealthy: number[]
  out: number[]
  reaction: number[]
  failedA: number[]
  listening: number[]
  firstNew: number[]
  back: number[]
  failedB: number[]
  extraRestarts: number
}
const results = new Map<string, {lb: Lb; policy: Policy; r: Results}>()
function resultsFor(lb: Lb, policy: Policy): Results {
  const key = `${lb} ${short(policy)}`
  if (!results.has(key)) {
    const r = {unhealthy: [], out: [], reaction: [], failedA: [], listening: [], firstNew: [], back: [], failedB: [], extraRestarts: 0}
    results.set(key, {lb, policy, r})
  }
  return results.get(key)!.r
}

/** (a) one repetition: a's health starts failing; when does the data path stop sending it requests? */
async function healthRemoval(h: Harness, policy: Policy, sick: string, rep: number, into: Results): Promise<void> {
  const {a} = await waitServing(h, ['a', 'b'])
  const probe = Probe.start(h, SERVICE_URL, 30)
  await probe.until((s) => s.some((x) => from(x, 'a')) && s.some((x) => from(x, 'b')) && s.length >= 100, 10_000)
  // A random phase against the health check's timer, so the reps sample the whole interval.
  await sleep(Math.random() * policy.intervalMs)
  const t0 = Date.now()
  await writeFile(sick, '')
  const outLogged = () => firstLogAt(h, t0, (l) => l.msg === 'taken out of the balancer' && l.unit === a.unit)
  const deadline = t0 + policy.intervalMs * (policy.threshold + 1) + 10_000
  while (outLogged() === undefined && Date.now() < deadline) await sleep(20)
  await sleep(500) // keep probing: a must get nothing more
  const samples = await probe.stop()
  await rm(sick)

  let lastA = samples.length - 1
  while (lastA >= 0 && !from(samples[lastA]!, 'a')) lastA--
  const outAt = lastA >= 0 && lastA + 1 < samples.length ? samples[lastA + 1]!.sent : undefined
  const unhealthyAt = firstLogAt(h, t0, (l) => l.msg === 'health changed' && l.unit === a.unit && l.state === 'unhealthy')
  const after = samples.filter((s) => s.done >= t0)
  const failed = after.filter((s) => !s.ok)
  if (outAt !== undefined) into.out.push(outAt - t0)
  if (unhealthyAt !== undefined) into.unhealthy.push(unhealthyAt - t0)
  if (outAt !== undefined && unhealthyAt !== undefined) into.reaction.push(outAt - unhealthyAt)
  into.failedA.push(failed.length)
  console.log(
    `  rep ${rep}: unhealthy at ${rel(unhealthyAt, t0)}, out of the data path at ${rel(outAt, t0)}` +
      ` (server logged "taken out" at ${rel(outLogged(), t0)}); requests since the file appeared: ${after.length}, failed ${failed.length}${errorKinds(failed)}`,
  )
}

/** (b) one repetition: kill -9 of the only instance; when does traffic reach its replacement? */
async function killRecovery(h: Harness, policy: Policy, rep: number, into: Results): Promise<void> {
  const name = `k${rep}`
  await h.setTarget(target([app(name, policy)]))
  const {[name]: victim} = await waitServing(h, [name])
  const probe = Probe.start(h, SERVICE_URL, 60)
  await probe.until((s) => s.filter((x) => from(x, name)).length >= 100, 10_000)
  const t0 = Date.now()
  await run('nsenter', ['-t', String(h.sandbox.pid1), '-p', 'kill', '-9', String(victim!.pid)])
  const killed = Date.now()
  const isNew = (s: Sample) => from(s, name) && pidOf(s) !== victim!.pid && s.sent >= t0
  // Done once a new PID answered and 1.5 s passed without a failure (launcho may act after systemd).
  const settled = (s: Sample[]) => {
    const failures = s.filter((x) => !x.ok)
    return s.some(isNew) && s.at(-1)!.sent - Math.max(failures.at(-1)?.sent ?? 0, t0) > 1500
  }
  await probe.until(settled, 45_000)
  const samples = await probe.stop()

  const after = samples.filter((s) => s.done >= t0)
  const failed = after.filter((s) => !s.ok)
  const firstNew = samples.find(isNew)
  const lastFailure = failed.at(-1)
  const back = lastFailure ? samples.find((s) => s.ok && s.sent > lastFailure.sent) : firstNew
  const listening = await listeningAt(h, victim!.unit, t0)
  const actions = serverLog(h, t0)
    .filter((l) => l.unit === victim!.unit && ['health changed', 'taken out of the balancer', 'serving'].includes(l.msg))
    .map((l) => ({at: l.time, what: l.msg === 'health changed' ? String(l.state) : l.msg}))
  const events = ((await h.status()).events as Event[]).filter((e) => e.process === name && Date.parse(e.time) >= t0)
  for (const e of events) {
    if (e.kind === 'restarted') into.extraRestarts++
    if (e.kind === 'restarted' || e.kind === 'crash-looping') actions.push({at: Date.parse(e.time), what: e.kind === 'restarted' ? 'RESTARTED AGAIN by launcho' : 'crash-looping'})
  }
  actions.sort((x, y) => x.at - y.at)
  if (listening !== undefined) into.listening.push(listening - t0)
  if (firstNew) into.firstNew.push(firstNew.sent - t0)
  if (back) into.back.push(back.sent - t0)
  into.failedB.push(failed.length)
  console.log(
    `  rep ${rep}: kill took ${killed - t0} ms; new process listening at ${rel(listening, t0)}, its PID first answered at ${rel(firstNew?.sent, t0)},` +
      ` traffic back for good at ${rel(back?.sent, t0)}; failed requests ${failed.length} of ${after.length}${errorKinds(failed)}` +
      `; launcho: ${actions.map((x) => `${x.what} +${x.at - t0}`).join(', ') || 'nothing'}`,
  )
}

/** When the app first said "listening" in the journal after `since` (it logs that once bound). */
async function listeningAt(h: Harness, unit: string, since: number): Promise<number | undefined> {
  const out = await h.journal(['-u', unit, '-o', 'json', '--output-fields=MESSAGE', '--since', `@${Math.floor(since / 1000)}`])
  for (const line of out.split('\n').filter(Boolean)) {
    const entry = JSON.parse(line) as {MESSAGE?: string; __REALTIME_TIMESTAMP: string}
    const at = Number(entry.__REALTIME_TIMESTAMP) / 1000
    if (at >= since && /listening on/.test(String(entry.MESSAGE))) return Math.round(at)
  }
  return undefined
}

function errorKinds(failed: Sample[]): string {
  if (failed.length === 0) return ''
  const counts = new Map<string, number>()
  for (const s of failed) counts.set(s.what, (counts.get(s.what) ?? 0) + 1)
  return ` (${[...counts].map(([what, n]) => `${what} ×${n}`).join(', ')})`
}

async function bench(lb: Lb, harnesses: Harness[]): Promise<void> {
  const h = await startServer(lb)
  harnesses.push(h)
  const sick = `${h.dir}/unhealthy`
  console.log(`\n=== lb: ${lb} ===`)
  for (const policy of POLICIES) {
    await h.setTarget(target([app('a', policy, sick), app('b', policy)]))
    console.log(`(a) ${lb}, ${policy.label}: a's /health starts failing; a and b behind the service; bound interval × threshold = ${policy.intervalMs * policy.threshold} ms`)
    for (let rep = 1; rep <= REPS; rep++) await healthRemoval(h, policy, sick, rep, resultsFor(lb, policy))
  }
  for (const policy of POLICIES) {
    console.log(`(b) ${lb}, ${policy.label}: kill -9 of the main process of the only instance behind the service (process k<rep>)`)
    for (let rep = 1; rep <= REPS; rep++) await killRecovery(h, policy, rep, resultsFor(lb, policy))
  }
  harnesses.splice(harnesses.indexOf(h), 1)
  await h.close()
}

const harnesses: Harness[] = []
closeOnInterrupt(() => harnesses)
const started = Date.now()
console.log(`${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(2)}; ${REPS} reps each; times from the failure's known instant (file written / kill issued)`)
console.log('ipvs: not available on this kernel (see npm run test:ipvs for the qemu test)')
try {
  for (const lb of BACKENDS) await bench(lb, harnesses)
} finally {
  await Promise.allSettled(harnesses.map((h) => h.close()))
}

console.log(`\nSummary (${((Date.now() - started) / 1000).toFixed(0)} s in all, load average ${loadavg()[0]!.toFixed(2)})`)
for (const {lb, policy, r} of results.values()) {
  const bound = policy.intervalMs * policy.threshold
  const kept = r.out.length === REPS && Math.max(...r.out) <= bound + 100
  console.log(`${lb}, health ${short(policy)}:`)
  console.log(`  (a) health fails → unhealthy:                ${summary(r.unhealthy)}`)
  console.log(`  (a) health fails → out of the data path:     ${summary(r.out)}; bound ${bound} ms (+100): ${kept ? 'kept' : 'EXCEEDED (or not removed)'}`)
  console.log(`  (a)   of which unhealthy → out (launcho):    ${summary(r.reaction)}`)
  console.log(`  (a)   failed requests:                       ${summary(r.failedA, '')}`)
  console.log(`  (b) kill -9 → new process listening:         ${summary(r.listening)} (systemd's 100 ms restart delay + node start-up)`)
  console.log(`  (b) kill -9 → its PID first answers:         ${summary(r.firstNew)}`)
  console.log(`  (b) kill -9 → traffic back for good:         ${summary(r.back)}${r.extraRestarts ? `; launcho restarted the new process again in ${r.extraRestarts} of ${REPS} reps` : ''}`)
  console.log(`  (b)   failed requests in between:            ${summary(r.failedB, '')} (tight loop, one connection per request)`)
}
