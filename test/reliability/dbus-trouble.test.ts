/**
 * systemd/D-Bus trouble: the bus restarting (systemctl restart dbus), the bus daemon killed with
 * SIGKILL, the bus frozen so that calls time out, and the bus restarting while a start job is in
 * flight. Each time the server must reconnect (and say so in its log), change nothing that runs,
 * and a `t set` afterwards must still take effect.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor} from '../helpers/harness.js'
import {say, sleep} from './helpers/common.js'

const target = (generation: number, before = '') => `processes:
  - name: steady
    command: ["sleep", "100000"]
  - name: app
    command: ["sleep", "100000"]
    env: {GEN: "${generation}"}${before ? `\n    before: "${before}"` : ''}
`

describe('the server rides out D-Bus trouble', () => {
  let h: Harness
  let steady = ''
  let steadyPid = ''
  let generation = 0

  before(async () => {
    h = await Harness.start()
    await h.setTarget(target(generation))
    await waitFor('both running', async () => (await h.status()).processes.every((p) => p.state === 'running'), 15_000, 100)
    steady = (await h.units()).find((u) => u.startsWith('launcho-steady-'))!
    steadyPid = (await h.unit(steady, ['MainPID'])).MainPID!
  })
  after(async () => h?.close())

  const busPid = async () => (await h.inside(['systemctl', 'show', '-p', 'MainPID', '--value', 'dbus.service'])).trim()
  const logCount = (pattern: RegExp) => h.serverLog.split('\n').filter((line) => pattern.test(line)).length

  /** A t set with a new generation of app, and the time until only that generation runs. */
  async function changeTakesEffect(timeoutMs = 20_000): Promise<number> {
    generation++
    const started = Date.now()
    await h.setTarget(target(generation))
    await waitFor(`app GEN=${generation} running alone`, async () => {
      const apps = (await h.units()).filter((u) => u.startsWith('launcho-app-'))
      if (apps.length !== 1) return false
      const props = await h.unit(apps[0]!, ['ActiveState'])
      return props.ActiveState === 'active' && (await h.processEnv(apps[0]!))?.GEN === `${generation}`
    }, timeoutMs, 100)
    return Date.now() - started
  }

  async function steadyUntouched(): Promise<void> {
    const props = await h.unit(steady, ['MainPID', 'NRestarts', 'ActiveState'])
    assert.deepEqual([props.ActiveState, props.MainPID, props.NRestarts], ['active', steadyPid, '0'], 'steady untouched')
  }

  it('systemctl restart dbus: reconnects, logs it, and a t set afterwards takes effect', async (t) => {
    const oldBus = await busPid()
    const reconnectsBefore = logCount(/reconnected to systemd/)
    await h.inside(['systemctl', 'restart', 'dbus.service'])
    const newBus = await busPid()
    await waitFor('reconnect logged', async () => logCount(/reconnected to systemd/) > reconnectsBefore, 15_000, 50)
    const lost = h.serverLog.split('\n').filter((l) => /lost the system bus/.test(l)).at(-1) ?? ''
    const ms = await changeTakesEffect()
    await steadyUntouched()
    say(t, `dbus-daemon ${oldBus} → ${newBus}; server log: "${JSON.parse(lost).msg}" then "reconnected to systemd; resyncing"; t set took effect in ${ms} ms; steady untouched`)
  })

  it('kill -9 of dbus-daemon: reconnects (the socket brings the bus back), and a t set takes effect', async (t) => {
    const oldBus = await busPid()
    const reconnectsBefore = logCount(/reconnected to systemd/)
    await h.inside(['kill', '-9', oldBus])
    await waitFor('reconnect logged', async () => logCount(/reconnected to systemd/) > reconnectsBefore, 20_000, 50)
    const newBus = await busPid()
    const ms = await changeTakesEffect()
    await steadyUntouched()
    const status = await h.ok(['status'])
    say(t, `dbus-daemon ${oldBus} killed, now ${newBus}; reconnect logged; t set took effect in ${ms} ms; status answers (${status.split('\n').length} lines)`)
    assert.notEqual(newBus, oldBus)
  })

  it('a frozen bus (SIGSTOP for 12 s): calls time out, status says why, and the change lands once it thaws', async (t) => {
    const bus = await busPid()
    const failedPassesBefore = logCount(/timed out/)
    await h.inside(['kill', '-STOP', bus])
    let thawed = false
    const thaw = async () => {
      if (thawed) return
      thawed = true
      await h.inside(['kill', '-CONT', bus])
    }
    try {
      const frozenAt = Date.now()
      generation++
      // The target is stored and acknowledged even though systemd cannot be asked now.
      const set = await h.cli(['t', 'set', await h.writeFile('frozen.yaml', target(generation)), '--detach'])
      assert.equal(set.code, 0, set.stderr)
      const statusStarted = Date.now()
      const status = await h.cli(['status'])
      const statusMs = Date.now() - statusStarted
      say(t, `t set while frozen → exit ${set.code}; status while frozen → exit ${status.code} after ${statusMs} ms: ${status.stderr.split('\n')[0]}`)
      assert.notEqual(status.code, 0, 'status cannot know the truth while the bus is frozen')
      assert.match(status.stderr, /timed out/)
      await sleep(Math.max(0, 12_000 - (Date.now() - frozenAt)))
    } finally {
      await thaw()
    }
    const thawedAt = Date.now()
    await waitFor(`app GEN=${generation} running alone`, async () => {
      const apps = (await h.units()).filter((u) => u.startsWith('launcho-app-'))
      if (apps.length !== 1) return false
      const props = await h.unit(apps[0]!, ['ActiveState'])
      return props.ActiveState === 'active' && (await h.processEnv(apps[0]!))?.GEN === `${generation}`
    }, 30_000, 100)
    const timeouts = logCount(/timed out/) - failedPassesBefore
    await steadyUntouched()
    say(t, `after SIGCONT the change took effect in ${Date.now() - thawedAt} ms; ${timeouts} timed-out call(s) logged`)
    assert.ok(timeouts > 0, 'the server logged the timed-out calls')
    const later = await changeTakesEffect()
    say(t, `and the next t set took ${later} ms`)
  })

  it('the bus restarting while a start job is in flight does not wedge that process', async (t) => {
    // A slow `before` keeps app's start job running while the bus goes away under it.
    generation++
    const started = Date.now()
    await h.setTarget(target(generation, 'sleep 3'))
    await waitFor('app start job running', async () => (await h.inside(['systemctl', 'list-jobs', '--no-legend'])).includes('launcho-app-'), 5_000, 50)
    const reconnectsBefore = logCount(/reconnected to systemd/)
    await h.inside(['systemctl', 'restart', 'dbus.service'])
    await waitFor('reconnect logged', async () => logCount(/reconnected to systemd/) > reconnectsBefore, 15_000, 50)
    const describeApp = async () => {
      const app = (await h.status()).processes.find((p) => p.name === 'app')!
      return `app is ${app.state}, instances: ${app.instances.map((i) => `${i.unit} ${i.activeState}${i.current ? ' (current)' : ''}`).join(', ')}`
    }
    // The rollout must finish: the new version alone, the old one stopped.
    const settled = await waitFor('the slow start finished and the old version stopped', async () => {
      const apps = (await h.units()).filter((u) => u.startsWith('launcho-app-'))
      return apps.length === 1 && (await h.processEnv(apps[0]!))?.GEN === `${generation}` && Date.now()
    }, 15_000, 100).catch(async (error: Error) => {
      say(t, `after a bus restart during app's 3 s start job: ${error.message}; ${await describeApp()}`)
      throw error
    })
    say(t, `the rollout interrupted by the bus restart finished ${settled - started} ms after the t set; ${await describeApp()}`)
    // And the next change is acted on at once, not after the lost job's timeout.
    const ms = await changeTakesEffect(20_000)
    say(t, `the next t set took effect in ${ms} ms`)
    await steadyUntouched()
  })
})
