/**
 * A process's user racing launcho's file work in the directories it can write (issue 10,
 * findings 1 and 2). Each racer is a process of the target running as nobody, bounded in time;
 * the victims are root-owned files outside every directory nobody can write.
 *   placement: the racer swaps each `.NAME.launcho-*` temp file of a resource for a symlink to a
 *              root-owned 0600 file while the test rolls the resource's process out again and again
 *   removal:   the racer exchanges a directory and a symlink to a root-owned directory of 100 files
 *              (renameat2 RENAME_EXCHANGE) in each instance's work dir while launcho removes it
 */
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {chown, lstat, mkdir, readdir, readFile, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {Harness, repoRoot, waitFor, type StatusJson} from '../helpers/harness.js'
import {NetAgent} from './helpers/agent.js'
import {say} from './helpers/common.js'
import {startServer} from './helpers/server.js'

const RACE_SECONDS = 20
const NOBODY = 65534
const VICTIM_FILES = 100
const python = '/usr/bin/python3'
const fixture = (name: string) => join(repoRoot, 'test', 'fixtures', name)

describe('a process user racing launcho in its own directories', () => {
  let h: Harness
  let agent: NetAgent
  before(async () => {
    h = await Harness.start({server: false})
    const config = await h.writeFile('config.yaml', 'resyncSeconds: 2\n')
    await startServer(h, {extraArgs: ['--config', config], printAuth: true})
    agent = await NetAgent.start(h.sandbox.netns)
  })
  after(async () => {
    await agent?.close()
    await h?.close()
  })

  // Through the agent: a CLI run per call would leave the racers only a few rollouts.
  const status = async () => (await agent.api<StatusJson>(h, 'GET', '/v1/status')).json
  const restart = async (name: string) => {
    const answer = await agent.api(h, 'POST', `/v1/processes/${name}/restart`, {})
    assert.equal(answer.status, 200, JSON.stringify(answer.json))
  }
  const find = (report: StatusJson, name: string) => report.processes.find((p) => p.name === name)
  const running = async (name: string) => {
    const p = find(await status(), name)
    return p?.instances.some((i) => i.current && i.activeState === 'active') ? p : undefined
  }
  /** The line a racer prints when its time is up. */
  const racerReport = (name: string) =>
    waitFor(`${name} to report`, async () => /racer: .*/.exec(await h.ok(['logs', name, '--lines', '20']))?.[0], 15_000, 250)
  const elapsed = (since: number) => ((Date.now() - since) / 1000).toFixed(1)

  it(`placement: ${RACE_SECONDS} s of swapping resource temp files for a symlink leave a root-owned 0600 file untouched`, {timeout: 180_000}, async (t) => {
    const cwd = join(h.dir, 'app-cwd')
    await mkdir(cwd, {mode: 0o755})
    await chown(cwd, NOBODY, NOBODY)
    const victim = join(h.dir, 'victim-secret')
    const secret = `root only ${randomBytes(16).toString('hex')}\n`
    await writeFile(victim, secret, {mode: 0o600})
    // A few MiB keep the temp file in place long enough for the racer to find it every time.
    const bundle = randomBytes(4 * 1024 * 1024)
    const bundleFile = join(h.dir, 'bundle.bin')
    await writeFile(bundleFile, bundle)
    const id = (await h.ok(['resource', 'up', bundleFile])).trim()
    const app = `  - name: app
    command: ["sleep", "600"]
    uid: nobody
    cwd: ${cwd}
    resources: [{id: "${id}", file: bundle.bin}]
`
    // The app first: started beside the racer, its first placements could lose the race often
    // enough that its start back-off outgrew the wait (seen once in the full reliability run).
    await h.setTarget(`processes:\n${app}`)
    await waitFor('app running', async () => running('app'), 20_000, 100)
    await h.setTarget(`processes:
  - name: racer
    command: ["${python}", "${fixture('temp-swap-racer.py')}", "${cwd}", ".bundle.bin.launcho-", "${victim}", "${RACE_SECONDS}"]
    uid: nobody
    cwd: ${cwd}
${app}`)
    await waitFor('app and racer running', async () => (await running('app')) && (await running('racer')), 20_000, 100)
    const raceStart = Date.now()
    const appLines = () => h.serverLog.split('\n').filter((line) => line.includes('"process":"app"'))
    const placements = () => {
      const lines = appLines()
      return {started: lines.filter((l) => l.includes('"msg":"started"')).length, refused: lines.filter((l) => l.includes('could not place resource')).length}
    }
    const before = placements()
    let rollouts = 0
    while (Date.now() - raceStart < RACE_SECONDS * 1000) {
      const seen = placements()
      await restart('app')
      rollouts++
      await waitFor('a placement of the new version', async () => {
        const now = placements()
        return now.started + now.refused > seen.started + seen.refused
      }, 15_000, 20)
    }
    const raceSeconds = elapsed(raceStart)
    const report = await racerReport('racer')
    const after = placements()
    const info = await lstat(victim)
    say(t, `${rollouts} rollouts (launcho restart) in ${raceSeconds} s: ${after.started - before.started} placements done, ${after.refused - before.refused} refused; ${report}`)
    const refusal = /could not place resource [^"]*/.exec(appLines().find((l) => l.includes('could not place resource')) ?? '')?.[0]
    if (refusal) say(t, `a refused placement: ${refusal}`)
    say(t, `victim: uid ${info.uid} gid ${info.gid} mode ${(info.mode & 0o777).toString(8)}, content ${(await readFile(victim, 'utf8')) === secret ? 'unchanged' : 'CHANGED'}`)
    assert.match(report, /[1-9]\d* swapped/, 'the racer did swap temp files')
    assert.deepEqual({uid: info.uid, gid: info.gid, mode: info.mode & 0o777, symlink: info.isSymbolicLink()}, {uid: 0, gid: 0, mode: 0o600, symlink: false}, 'the victim is still root:root 0600')
    assert.equal(await readFile(victim, 'utf8'), secret)

    // With the racer idle, a rollout places the resource as before: the process user's, 0640.
    await restart('app')
    await waitFor('the last rollout to place bundle.bin', async () => {
      const placed = await lstat(join(cwd, 'bundle.bin')).catch(() => undefined)
      if (!placed?.isFile() || placed.uid !== NOBODY || (placed.mode & 0o777) !== 0o640) return false
      return (await readFile(join(cwd, 'bundle.bin'))).equals(bundle) && (await running('app'))
    }, 30_000, 200)
    await h.setTarget('processes: []\n', {allowEmpty: true})
  })

  it(`removal: ${RACE_SECONDS} s of exchanging a directory and a symlink in work dirs being removed delete none of ${VICTIM_FILES} root-owned files`, {timeout: 240_000}, async (t) => {
    const victimDir = join(h.dir, 'victim-files')
    await mkdir(victimDir, {mode: 0o755})
    const names = Array.from({length: VICTIM_FILES}, (_, i) => `file-${String(i).padStart(3, '0')}`)
    for (const name of names) await writeFile(join(victimDir, name), `root's ${name}\n`, {mode: 0o600})
    const shared = join(h.dir, 'race-list')
    await mkdir(shared, {mode: 0o755})
    await chown(shared, NOBODY, NOBODY)
    const list = join(shared, 'work-dirs')
    await h.setTarget(`processes:
  - name: exchanger
    command: ["${python}", "${fixture('exchange-racer.py')}", "${list}", "${RACE_SECONDS}"]
    uid: nobody
  - name: victim
    command: ["/bin/sh", "-c", "mkdir d && touch d/x && ln -s ${victimDir} s && pwd >> ${list} && exec sleep 600"]
    uid: nobody
`)
    await waitFor('victim and exchanger running', async () => (await running('victim')) && (await running('exchanger')), 20_000, 100)
    const raceStart = Date.now()
    let rollouts = 0
    while (Date.now() - raceStart < RACE_SECONDS * 1000) {
      const old = find(await status(), 'victim')!.instances.map((i) => i.unit)
      await restart('victim')
      rollouts++
      await waitFor('the new instance running and the old one stopped', async () => {
        const units = find(await status(), 'victim')?.instances ?? []
        return units.length === 1 && !old.includes(units[0]!.unit) && units[0]!.activeState === 'active'
      }, 20_000, 50)
    }
    const raceSeconds = elapsed(raceStart)
    const report = await racerReport('exchanger')
    const left = (await readdir(victimDir)).sort()
    const spoiled = h.serverLog.split('\n').filter((l) => l.includes('could not remove')).length
    say(t, `${rollouts} work dirs removed while racing (launcho restart) in ${raceSeconds} s; ${report}; victim files left: ${left.length} of ${VICTIM_FILES}; ${spoiled} removals spoiled by the race, left for a retry`)
    assert.match(report, /[1-9]\d* exchanges/, 'the racer did exchange entries')
    assert.deepEqual(left, names, 'every root-owned victim file is still there')
    for (const name of names) assert.equal(await readFile(join(victimDir, name), 'utf8'), `root's ${name}\n`)

    // With the racer idle, every replaced instance's work dir is gone (a removal the race spoiled is retried).
    const current = find(await status(), 'victim')!.instances[0]!.unit.replace(/\.service$/, '')
    const started = Date.now()
    const leftovers = await waitFor('the work dirs of replaced instances removed', async () => {
      const dirs = (await readdir(join(h.stateDir, 'instances'))).filter((d) => d.startsWith('launcho-victim-') && d !== current)
      return dirs.length === 0 && dirs
    }, 90_000, 500)
    say(t, `work dirs of replaced instances all gone ${elapsed(started)} s after the race (${leftovers.length} left)`)
    assert.equal((await stat(victimDir)).uid, 0)
    await h.setTarget('processes: []\n', {allowEmpty: true})
  })
})
