/**
 * Scale: how long one `t set` of N plain processes (`sleep infinity`) takes, from the CLI's start,
 * until systemd has every unit active (each unit's start job done, seen on the bench's own bus
 * connection), against the floor of the same number of transient units started straight over
 * D-Bus, 10 at a time, each until its start job is done, with launcho's own SystemdManager and no
 * launcho around it. When `status` (polled 100 ms apart, as a watching operator would) first
 * shows them all running is printed too, with its ratios. Two floors: minimal units (cwd /, no
 * environment file), and units with launcho's own properties (a working directory per instance
 * under the state dir and an environment file, both made before the clock starts): systemd loads
 * a mount unit for every component of a working directory's path, which costs it more per start.
 * Each measurement gets a fresh sandbox systemd; floors and launcho run back to back in the same
 * run, so the machine's load hits all.
 *
 * With N processes running it also times a no-op `t set` and `status` (text and --json) against
 * the CLI's own start-up (`--version`), reads the server's RSS (right after, and settled 45 s
 * later) and its CPU while idle (a periodic resync included), and counts the log lines that mean
 * launcho lost track of a unit ("already loaded", UnitExists) or a pass failed: both must be 0.
 *
 * Last, the time from a secret change to the new version serving, for an HTTP app that listens at
 * once behind a service with a health check: `secret set` waits for the rollout it started and
 * returns when the new version serves (its own figure includes the CLI's start-up; `--version`,
 * which loads oclif as secret set no longer does, is shown beside it).
 *
 *   npm run bench:scale   (node dist/bench/scale.js [--counts 100,1000] [--rounds 1])
 */
import {execFile} from 'node:child_process'
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {loadavg} from 'node:os'
import {parseArgs, promisify} from 'node:util'
import {SystemdManager} from '../src/systemd/manager.js'
import type {UnitSpec} from '../src/systemd/unit-spec.js'
import {Harness, waitFor} from '../test/helpers/harness.js'
import {get, webApp} from '../test/helpers/services.js'
import {closeOnInterrupt} from './lib/sandbox.js'
import {watchActive} from './lib/active-watch.js'
import {watchStatus} from './lib/status-watch.js'
import {median, sleep} from './lib/stats.js'

const run = promisify(execFile)
const {values} = parseArgs({options: {counts: {type: 'string', default: '100,1000'}, rounds: {type: 'string', default: '1'}}})
const COUNTS = values.counts.split(',').map(Number)
const ROUNDS = Number(values.rounds)
const CONVERGE_LIMIT_MS = 180_000
/** Each idle figure is the median of this many tries (single CLI runs vary by ±20 %). */
const REPEATS = 7
/** How long an idle server is left before its settled RSS is read (its memory reducer follows up after 30 s steady). */
const SETTLE_MS = 45_000

const open: Harness[] = []
closeOnInterrupt(() => open)

async function sandbox(server: boolean): Promise<Harness> {
  const h = await Harness.start({server})
  open.push(h)
  return h
}

async function close(h: Harness): Promise<void> {
  open.splice(open.indexOf(h), 1)
  await h.close()
}

const names = (n: number) => Array.from({length: n}, (_, i) => `p${String(i).padStart(4, '0')}`)
const targetOf = (n: number) => `processes:\n${names(n).map((name) => `  - name: ${name}\n    command: ["sleep", "infinity"]\n`).join('')}`
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`

/** utime + stime of a process in seconds. */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

async function memoryMb(pid: number): Promise<{rss: number; peak: number}> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? Number.NaN)
  return {rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024)}
}

async function timed(action: () => Promise<unknown>): Promise<number> {
  const start = performance.now()
  await action()
  return performance.now() - start
}

type Floor = 'minimal' | 'launcho-like'

/** The floor: N transient units started over D-Bus 10 at a time, each until its start job is done. */
async function baseline(n: number, floor: Floor): Promise<{ms: number; systemdCpu: number}> {
  const h = await sandbox(false)
  try {
    const previous = process.env.DBUS_SYSTEM_BUS_ADDRESS
    process.env.DBUS_SYSTEM_BUS_ADDRESS = h.sandbox.busAddress
    const manager = await SystemdManager.connect()
    if (previous === undefined) delete process.env.DBUS_SYSTEM_BUS_ADDRESS
    else process.env.DBUS_SYSTEM_BUS_ADDRESS = previous
    const specs: UnitSpec[] = []
    for (const name of names(n)) {
      // launcho- (its job signals are the ones the manager keeps), but no instance name (no version).
      const unit = `launcho-bench-${name}.service`
      const place = {workingDirectory: '/'} as {workingDirectory: string; environmentFile?: string}
      if (floor === 'launcho-like') {
        place.workingDirectory = join(h.dir, 'state', 'instances', `launcho-bench-${name}`)
        place.environmentFile = join(h.dir, 'state', 'environments', `launcho-bench-${name}.env`)
        await mkdir(place.workingDirectory, {recursive: true, mode: 0o750})
        await mkdir(join(h.dir, 'state', 'environments'), {recursive: true, mode: 0o700})
        await writeFile(place.environmentFile, '', {mode: 0o600})
      }
      specs.push({
        name: unit,
        description: `launcho ${name} (bench)`,
        command: ['sleep', 'infinity'],
        env: {},
        ...place,
        syslogIdentifier: name,
        journalFields: {LAUNCHO_PROCESS: name, LAUNCHO_VERSION: 'bench'},
        restartDelayMs: 100,
        stopTimeoutMs: 10_000,
        startTimeoutMs: 300_000,
      })
    }
    const cpuBefore = await cpuSeconds(h.sandbox.pid1)
    let next = 0
    const failed: string[] = []
    const ms = await timed(() =>
      Promise.all(
        Array.from({length: 10}, async () => {
          while (next < specs.length) {
            const spec = specs[next++]!
            const result = await manager.start(spec)
            if (result !== 'done') failed.push(`${spec.name}: ${result}`)
          }
        }),
      ),
    )
    const systemdCpu = (await cpuSeconds(h.sandbox.pid1)) - cpuBefore
    manager.close()
    const active = (await h.inside(['systemctl', 'list-units', '--state=active', '--plain', '--no-legend', 'launcho-bench-*.service'])).trim().split('\n').filter(Boolean).length
    if (failed.length > 0 || active !== n) throw new Error(`baseline: ${active} of ${n} active; failed: ${failed.slice(0, 3).join(', ')}`)
    return {ms, systemdCpu}
  } finally {
    await close(h)
  }
}

interface LaunchoRun {
  converged: boolean
  /** t set until systemd had every unit's start job done, as the floor counts (or until the limit). */
  activeMs: number
  /** t set until the first unit's start job was done. */
  firstActiveMs?: number
  /** t set until every process is running in status (or until the limit). */
  ms: number
  setMs: number
  /** The last status seen: `<running> <processes> <state:count,…>`. */
  last: string
  serverCpu: number
  systemdCpu: number
  statusCalls: number
  idle?: IdleFigures
}

interface IdleFigures {
  noopSetMs: number[]
  statusMs: number[]
  statusJsonMs: number[]
  versionMs: number[]
  rss: number
  /** After SETTLE_MS more of idling. */
  settledRss: number
  peak: number
  idleCpuPercent: number
  lostTrack: number
  failedPasses: number
}

async function launcho(n: number, measureIdle: boolean): Promise<LaunchoRun> {
  const h = await sandbox(true)
  try {
    const server = h.server!.pid!
    const file = await h.writeFile('target.yaml', targetOf(n))
    const cpu = {server: await cpuSeconds(server), systemd: await cpuSeconds(h.sandbox.pid1)}
    const active = await watchActive(h.sandbox.busAddress, n, (unit) => /^launcho-p\d{4}-/.test(unit))
    const started = Date.now()
    // --detach: status is watched below; the CLI's own follow would add its status calls to the run.
    const set = await h.cli(['t', 'set', file, '--detach'])
    if (set.code !== 0) throw new Error(`t set exited ${set.code}: ${set.stderr}`)
    const setMs = Date.now() - started
    const watch = await watchStatus(h, n, CONVERGE_LIMIT_MS / 1000)
    const converged = watch.allRunningAt !== undefined
    // Status shows a unit running only after systemd's job for it is done: by now all are in.
    const activeAt = await Promise.race([active.allActive, sleep(converged ? 1_000 : 0).then(() => undefined)])
    const firstActiveAt = active.firstActiveAt()
    active.close()
    const result: LaunchoRun = {
      converged: converged && activeAt !== undefined,
      activeMs: (activeAt ?? Date.now()) - started,
      ...(firstActiveAt !== undefined ? {firstActiveMs: firstActiveAt - started} : {}),
      ms: (watch.allRunningAt ?? Date.now()) - started,
      setMs,
      last: watch.last,
      serverCpu: (await cpuSeconds(server)) - cpu.server,
      systemdCpu: (await cpuSeconds(h.sandbox.pid1)) - cpu.systemd,
      statusCalls: watch.answers,
    }
    if (measureIdle) result.idle = await idleFigures(h, file, server)
    return result
  } finally {
    await close(h)
  }
}

async function idleFigures(h: Harness, file: string, server: number): Promise<IdleFigures> {
  const noopSetMs: number[] = []
  const statusMs: number[] = []
  const statusJsonMs: number[] = []
  const versionMs: number[] = []
  for (let i = 0; i < REPEATS; i++) {
    versionMs.push(await timed(() => h.cli(['--version'], {auth: false})))
    noopSetMs.push(await timed(async () => {
      const out = await h.ok(['t', 'set', file])
      if (out.trim() !== 'No process changes.') throw new Error(`the identical t set changed something:\n${out.slice(0, 500)}`)
    }))
    statusMs.push(await timed(() => h.ok(['status'])))
    statusJsonMs.push(await timed(() => h.ok(['status', '--json'])))
  }
  // A window longer than the resync period (10 s), so a full re-read of every unit is in it.
  const windowMs = 12_000
  const before = await cpuSeconds(server)
  await sleep(windowMs)
  const idleCpuPercent = (((await cpuSeconds(server)) - before) / (windowMs / 1000)) * 100
  const right = await memoryMb(server)
  await sleep(SETTLE_MS)
  const settled = await memoryMb(server)
  const lines = h.serverLog.split('\n')
  return {
    noopSetMs,
    statusMs,
    statusJsonMs,
    versionMs,
    ...right,
    settledRss: settled.rss,
    idleCpuPercent,
    lostTrack: lines.filter((line) => /already loaded|UnitExists/.test(line)).length,
    failedPasses: lines.filter((line) => /reconcile pass failed|"msg":"action failed"/.test(line)).length,
  }
}

async function commit(): Promise<string> {
  const {stdout} = await run('git', ['log', '-1', '--format=%h %s']).catch(() => ({stdout: 'unknown'}))
  return stdout.trim().slice(0, 80)
}

const ms = (values: number[]) => `${median(values).toFixed(0)} ms (min ${Math.min(...values).toFixed(0)}, max ${Math.max(...values).toFixed(0)})`

console.log(`bench:scale at ${await commit()}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`)
const summary: string[] = []
for (let round = 1; round <= ROUNDS; round++) {
  for (const n of COUNTS) {
    const floor = await baseline(n, 'minimal')
    const mine = await launcho(n, n === Math.max(...COUNTS))
    const like = await baseline(n, 'launcho-like')
    const outcome = mine.converged
      ? `${seconds(mine.activeMs)}`
      : `NOT all active after ${seconds(mine.activeMs)} (last status: ${mine.last})`
    const line =
      `N=${String(n).padStart(4)}  t set until all active: ${outcome}; direct D-Bus, 10 at a time: ` +
      `${seconds(floor.ms)} minimal = ${(mine.activeMs / floor.ms).toFixed(2)} ×, ${seconds(like.ms)} with launcho's unit properties = ${(mine.activeMs / like.ms).toFixed(2)} ×`
    console.log(`round ${round}: ${line}`)
    console.log(`          t set answered in ${seconds(mine.setMs)}, first unit active at ${mine.firstActiveMs === undefined ? '-' : seconds(mine.firstActiveMs)}; status showed all running at ${seconds(mine.ms)} (${(mine.ms / floor.ms).toFixed(2)} ×, ${(mine.ms / like.ms).toFixed(2)} ×; polled 100 ms apart)`)
    console.log(`          ${mine.statusCalls} GET /v1/status while waiting; CPU s: server ${mine.serverCpu.toFixed(1)}, systemd ${mine.systemdCpu.toFixed(1)} (floors: systemd ${floor.systemdCpu.toFixed(1)} minimal, ${like.systemdCpu.toFixed(1)} launcho-like)`)
    summary.push(line)
    const idle = mine.idle
    if (idle) {
      const version = median(idle.versionMs)
      console.log(`          with ${n} processes: no-op t set ${ms(idle.noopSetMs)} = ${(median(idle.noopSetMs) / version).toFixed(2)} × the CLI start-up (--version ${ms(idle.versionMs)})`)
      console.log(`          status ${ms(idle.statusMs)} = ${(median(idle.statusMs) / version).toFixed(2)} ×; status --json ${ms(idle.statusJsonMs)} = ${(median(idle.statusJsonMs) / version).toFixed(2)} ×`)
      console.log(`          server RSS ${idle.rss} MB after the work, ${idle.settledRss} MB after ${SETTLE_MS / 1000} s more idle (peak ${idle.peak} MB); idle server CPU ${idle.idleCpuPercent.toFixed(1)} % of a core over 12 s (a resync included)`)
      console.log(`          server log: ${idle.lostTrack} "already loaded"/UnitExists lines, ${idle.failedPasses} failed passes/actions`)
      summary.push(`          no-op t set ${median(idle.noopSetMs).toFixed(0)} ms, status ${median(idle.statusMs).toFixed(0)} ms, --version ${version.toFixed(0)} ms; RSS ${idle.rss} MB, settled ${idle.settledRss} MB (peak ${idle.peak}); idle CPU ${idle.idleCpuPercent.toFixed(1)} %; lost-track lines ${idle.lostTrack}, failed passes ${idle.failedPasses}`)
    }
  }
}
const secretRounds: number[] = []
const secretVersion: number[] = []
{
  const h = await sandbox(true)
  try {
    await h.ok(['secret', 'set', 'TOKEN', 'v0'])
    await h.setTarget(`processes:
  - name: web
    command: ["node", "${webApp}"]
    uid: nobody
    env: {APP_VERSION: "\${TOKEN}"}
    receives: [web]
    health: {service: web, path: /health}
services:
  - name: web
    on: "127.0.0.1:5000"
`)
    await waitFor('web serving', async () => /^200 v0/.test(await get(h, 'http://127.0.0.1:5000/')), 30_000, 100)
    for (let i = 1; i <= 5; i++) {
      secretVersion.push(await timed(() => h.cli(['--version'], {auth: false})))
      secretRounds.push(await timed(() => h.ok(['secret', 'set', 'TOKEN', `v${i}`])))
      const answer = await get(h, 'http://127.0.0.1:5000/')
      if (!answer.startsWith(`200 v${i}`)) throw new Error(`secret set returned before v${i} served: ${answer}`)
    }
  } finally {
    await close(h)
  }
  // secret set no longer loads oclif (its quick path), so --version is a bound on its own start-up, not a part of it.
  const line = `secret change → new version serving (secret set until it returns, waiting for the rollout): ${ms(secretRounds)}; the CLI's start-up with oclif (--version) takes ${ms(secretVersion)}`
  console.log(line)
  summary.push(line)
}
console.log('\nsummary')
for (const line of summary) console.log(line)
