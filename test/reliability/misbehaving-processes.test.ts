/**
 * Misbehaving processes next to a well-behaved web service: one that crash-loops, one that ignores
 * SIGTERM, one that forks children and exits, one that floods stdout, one that eats memory. Each
 * must be contained, status must tell the truth about each, and the web service (behind the
 * nftables balancer) must answer every request throughout.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor, type StatusJson} from '../helpers/harness.js'
import {startLoad, webApp, type RunningLoad} from '../helpers/services.js'
import {NetAgent, credentials} from './helpers/agent.js'
import {say, sleep} from './helpers/common.js'
import {startServer} from './helpers/server.js'

const STOP_TIMEOUT_S = 3
const EATER_CAP_MB = 512
const SERVICE = 'http://127.0.0.1:5000/'

const web = `  - name: web
    command: ["node", "${webApp}"]
    uid: nobody
    env: {APP_VERSION: "v1"}
    receives: [web]
    health: {service: web, path: /health, interval: 200ms, failureThreshold: 2, startupDeadline: 5s}
  - name: crashloop
    command: ["/bin/sh", "-c", "echo about to crash; exit 7"]
`
const eaterCommand = `["node", "-e", "const a = []; const t = setInterval(() => { a.push(Buffer.alloc(32 * 1024 * 1024, 1)); if (a.length * 32 >= ${EATER_CAP_MB}) { clearInterval(t); console.log('holding', a.length * 32, 'MB') } }, 100); setInterval(() => {}, 1000)"]`
const misbehavers = `  - name: stubborn
    command: ["/bin/sh", "-c", "trap '' TERM; echo ignoring SIGTERM; while :; do sleep 0.2; done"]
  - name: forker
    command: ["/bin/sh", "-c", "for i in 1 2 3; do setsid sleep 4242 & done; echo forked three; sleep 1; exit 0"]
  - name: flooder
    command: ["/bin/sh", "-c", "exec yes flood-flood-flood-flood-flood-flood-flood"]
  - name: eater
    command: ${eaterCommand}
`
const services = `services:
  - name: web
    on: "127.0.0.1:5000"
`
const target = (extra: string) => `processes:\n${web}${extra}${services}`

describe('misbehaving processes are contained and the others stay available', () => {
  let h: Harness
  let load: RunningLoad
  let agent: NetAgent
  let webUnit = ''
  let webPid = ''

  before(async () => {
    h = await Harness.start({server: false})
    const config = await h.writeFile('config.yaml', `lb: nftables\nstopTimeoutSeconds: ${STOP_TIMEOUT_S}\nresyncSeconds: 2\n`)
    await startServer(h, {extraArgs: ['--config', config], printAuth: true})
    agent = await NetAgent.start(h.sandbox.netns)
    await h.setTarget(target(''))
    const settled = await waitFor('web serving', async () => {
      const w = (await h.status()).processes.find((p) => p.name === 'web')
      const i = w?.instances[0] as {traffic?: string; unit: string} | undefined
      return i?.traffic === 'in' && i
    }, 20_000, 100)
    webUnit = settled.unit
    webPid = (await h.unit(webUnit, ['MainPID'])).MainPID!
    load = startLoad(h, SERVICE, 4, 300)
    await waitFor('load flowing', async () => load.progress().ok > 50, 10_000, 100)
    await h.setTarget(target(misbehavers))
  })
  after(async () => {
    await load?.stop().catch(() => undefined)
    await agent?.close()
    await h?.close()
  })

  const find = (status: StatusJson, name: string) => status.processes.find((p) => p.name === name)
  /** Processes inside the sandbox whose command line is exactly `args`. */
  const countProcesses = async (args: string) => (await h.inside(['ps', '-eo', 'args='])).split('\n').filter((line) => line.trim() === args).length

  it('status tells the truth about each: crash-looping, running, running, crash-looping (forker), running, running', async (t) => {
    const status = await waitFor('every process in its expected state', async () => {
      const s = await h.status()
      const ok =
        find(s, 'web')?.state === 'running' &&
        find(s, 'crashloop')?.state === 'crash-looping' &&
        find(s, 'stubborn')?.state === 'running' &&
        find(s, 'forker')?.state === 'crash-looping' &&
        find(s, 'flooder')?.state === 'running' &&
        find(s, 'eater')?.state === 'running'
      return ok && s
    }, 30_000, 250)
    for (const p of status.processes) say(t, `${p.name}: ${p.state}${p.lastFailure ? ` (last failure: ${p.lastFailure.reason})` : ''}${p.retryDelayMs ? `, next start in ${p.retryDelayMs} ms` : ''}`)
    assert.match(find(status, 'crashloop')!.lastFailure!.reason, /exited with status 7/)
    assert.match(find(status, 'forker')!.lastFailure!.reason, /exited|status 0/)
    const table = await h.ok(['status'])
    assert.match(table, /crashloop\s.*crash-looping/)
    assert.match(table, /stubborn\s.*running/)
  })

  it('the forker\'s children die with each of its instances (KillMode=mixed): never more than one generation', async (t) => {
    const samples: number[] = []
    // Sample until a generation has come and gone (its starts are held back, up to seconds apart).
    const started = Date.now()
    let seenAt: number | undefined
    while (Date.now() - started < 25_000 && (seenAt === undefined || Date.now() - seenAt < 3_000)) {
      samples.push(await countProcesses('sleep 4242'))
      if (samples.at(-1)! > 0) seenAt ??= Date.now()
      await sleep(250)
    }
    say(t, `"sleep 4242" children alive, sampled every 250 ms for ${((Date.now() - started) / 1000).toFixed(1)} s: ${samples.join(' ')}`)
    assert.ok(Math.max(...samples) <= 3, `children pile up: ${samples.join(' ')}`)
    assert.equal(Math.max(...samples), 3, 'the probe saw a generation of children (while its parent lived)')
  })

  it('without memoryMax the eater grows to its own 512 MB cap: launcho imposes no limit of its own', async (t) => {
    const unit = find(await h.status(), 'eater')!.instances[0]!.unit
    const rss = await waitFor('eater at its cap', async () => {
      const pid = (await h.unit(unit, ['MainPID'])).MainPID
      const status = await h.inside(['cat', `/proc/${pid}/status`]).catch(() => '')
      const mb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0) / 1024
      return mb >= EATER_CAP_MB * 0.9 && Math.round(mb)
    }, 30_000, 250)
    const props = await h.unit(unit, ['MemoryMax', 'MemoryLimit', 'NRestarts'])
    say(t, `eater RSS ${rss} MB; unit MemoryMax=${props.MemoryMax} MemoryLimit=${props.MemoryLimit}; restarts ${props.NRestarts}`)
    assert.equal(props.MemoryMax, 'infinity', 'no limit without memoryMax')
  })

  it('the flooder does not stall the server: API, status and logs answer promptly', async (t) => {
    const {ca, token} = await credentials(h)
    const latencies: number[] = []
    for (let i = 0; i < 20; i++) {
      const answer = await agent.request({port: h.port, ca, method: 'GET', path: '/v1/status', headers: {authorization: `Bearer ${token}`}, timeoutMs: 10_000})
      assert.equal(answer.status, 200, answer.error)
      latencies.push(answer.ms)
      await sleep(100)
    }
    const started = Date.now()
    const logs = await h.ok(['logs', 'flooder', '--lines', '5'])
    const logsMs = Date.now() - started
    const lines = logs.trim().split('\n')
    const unit = find(await h.status(), 'flooder')!.instances[0]!.unit
    const cpu = await h.unit(unit, ['CPUUsageNSec', 'NRestarts'])
    say(t, `20 GET /v1/status while flooding: max ${Math.round(Math.max(...latencies))} ms; "launcho logs flooder -n 5" took ${logsMs} ms and printed ${lines.length} lines ("${lines.at(-1)?.slice(-40)}"); flooder restarts ${cpu.NRestarts}`)
    assert.ok(Math.max(...latencies) < 2_000, `status took ${Math.max(...latencies)} ms`)
    assert.equal(lines.length, 5)
    assert.match(lines.at(-1)!, /flood-flood/)
    assert.ok(logsMs < 10_000)
  })

  it(`removing them: the SIGTERM-ignorer is SIGKILLed after the ${STOP_TIMEOUT_S} s stop timeout, the forker's children are gone`, async (t) => {
    const before = await h.status()
    const stubbornUnit = find(before, 'stubborn')!.instances[0]!.unit
    const started = Date.now()
    await h.setTarget(target(''))
    const sawStopping = await waitFor('stubborn shown as stopping', async () => find(await h.status(), 'stubborn')?.state === 'stopping', 2_000, 50).then(() => true, () => false)
    const goneAt = await waitFor('stubborn gone', async () => !(await h.units()).includes(stubbornUnit) && Date.now(), (STOP_TIMEOUT_S + 10) * 1000, 100)
    const took = goneAt - started
    // systemd's own timestamps: when the stop began, when it gave up on SIGTERM, when it was over.
    const entries = (await h.journal(['-u', stubbornUnit, '-o', 'json'])).trim().split('\n').map((line) => JSON.parse(line) as {MESSAGE: string; __REALTIME_TIMESTAMP: string})
    const at = (pattern: RegExp) => {
      const entry = entries.find((e) => pattern.test(e.MESSAGE))
      return entry ? Number(entry.__REALTIME_TIMESTAMP) / 1000 : undefined
    }
    const stopping = at(/^Stopping /)
    const killing = at(/State 'stop-sigterm' timed out\. Killing\./)
    const stoppedAt = at(/^Stopped |Deactivated|Failed with result/)
    const killed = killing !== undefined
    await waitFor('the others gone', async () => (await h.units()).every((u) => /^launcho-(web|crashloop)-/.test(u)), 15_000, 100)
    const children = await countProcesses('sleep 4242')
    const loopers = await countProcesses('/bin/sh -c trap \'\' TERM; echo ignoring SIGTERM; while :; do sleep 0.2; done')
    const sigtermMs = killing !== undefined && stopping !== undefined ? Math.round(killing - stopping) : undefined
    const afterKillMs = killing !== undefined && stoppedAt !== undefined ? Math.round(stoppedAt - killing) : undefined
    say(t, `stubborn: shown as stopping ${sawStopping}; stop job began ${stopping !== undefined ? Math.round(stopping - started) : '?'} ms after t set; SIGTERM ignored for ${sigtermMs} ms, then "stop-sigterm timed out. Killing."; stopped ${afterKillMs} ms after the SIGKILL; unit gone ${took} ms after t set; processes left: ${loopers}`)
    say(t, `forker: "sleep 4242" children left: ${children}; units left: ${(await h.units()).join(', ')}`)
    assert.ok(killed, `no SIGKILL escalation in the journal:\n${entries.map((e) => e.MESSAGE).join('\n')}`)
    assert.ok(sigtermMs! >= STOP_TIMEOUT_S * 1000 - 100 && sigtermMs! <= STOP_TIMEOUT_S * 1000 + 1_000, `SIGTERM phase lasted ${sigtermMs} ms`)
    assert.ok(afterKillMs! <= 1_000, `${afterKillMs} ms from SIGKILL to stopped`)
    assert.ok(took <= STOP_TIMEOUT_S * 1000 + 10_000, `removal took ${took} ms`)
    assert.equal(loopers, 0)
    assert.equal(children, 0)
    assert.ok(sawStopping, 'status showed the stubborn process as stopping')
    const said = (await h.status()).events.map((event) => `${event.kind} ${event.process}: ${event.message}`)
    const told = `killed stubborn: ${stubbornUnit} did not exit within the stop timeout (${STOP_TIMEOUT_S} s) after SIGTERM; systemd killed it (SIGKILL); handle SIGTERM, or raise the server's stopTimeoutSeconds`
    assert.ok(said.includes(told), `the events tell the SIGKILL:\n${said.join('\n')}`)
  })

  it('web answered every request throughout and was never restarted', async (t) => {
    const summary = await load.stop()
    const props = await h.unit(webUnit, ['MainPID', 'NRestarts', 'ActiveState'])
    say(t, `load through the service: ${summary.ok} ok, ${summary.failed} failed ${JSON.stringify(summary.errors)}; web ${webUnit} MainPID ${props.MainPID} (was ${webPid}), restarts ${props.NRestarts}`)
    assert.equal(summary.failed, 0)
    assert.ok(summary.ok > 500)
    assert.deepEqual([props.ActiveState, props.MainPID, props.NRestarts], ['active', webPid, '0'])
  })

  it(
    'memoryMax in the target stops the eater (OOM kill), and status says so',
    async (t) => {
      const limited = `processes:\n  - name: eater\n    memoryMax: 128M\n    command: ${eaterCommand}\n`
      const result = await h.cli(['t', 'set', await h.writeFile('limited.yaml', limited), '--detach'])
      say(t, `t set with processes[0].memoryMax: 128M → exit ${result.code}: ${result.stderr.split('\n').slice(0, 2).join(' ')}`)
      assert.equal(result.code, 0)
      const status = await waitFor('eater oom-killed', async () => {
        const eater = find(await h.status(), 'eater')
        return eater?.lastFailure && /oom|memory/i.test(eater.lastFailure.reason) && eater
      }, 20_000, 250)
      say(t, `eater with memoryMax 128M: state ${status.state}, last failure "${status.lastFailure!.reason}"`)
      assert.match(status.lastFailure!.reason, /out of memory/)
    },
  )
})
