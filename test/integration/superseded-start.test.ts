import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor} from '../helpers/harness.js'

/** A `before` that hangs keeps its start job running for the start timeout (5 min by default). */
const target = (value: string, before?: string) => `
processes:
  - name: steady
    command: ["sleep", "600"]
  - name: web
    command: ["sleep", "600"]
    env: {V: "${value}"}
${before ? `    before: "${before}"\n` : ''}`

describe('a newer target supersedes a start that hangs', () => {
  let h: Harness
  before(async () => {
    h = await Harness.start()
  })
  after(async () => h?.close())

  const web = async () => (await h.status()).processes.find((p) => p.name === 'web')
  /** PIDs (in the sandbox) of processes still in the unit's cgroup. */
  const processesOf = async (unit: string) =>
    (await h.inside(['sh', '-c', `grep -l '/${unit}' /proc/[0-9]*/cgroup 2>/dev/null || true`])).split('\n').filter(Boolean)
  const stuckStart = async () =>
    // Any of web's instances: during a rollout the old one is listed beside the stuck new one.
    waitFor('web stuck in its before', async () => {
      for (const {unit} of (await web())?.instances ?? []) {
        if ((await h.unit(unit, ['SubState'])).SubState === 'start-pre') return unit
      }
      return undefined
    }, 15_000, 100)

  it('starts the newer version at once, and leaves nothing of the superseded one', async (t) => {
    await h.setTarget(target('a', 'sleep 600'))
    const stuck = await stuckStart()
    assert.ok((await processesOf(stuck)).length > 0, 'the hanging before runs in the unit')

    const setAt = Date.now()
    await h.setTarget(target('b'))
    const running = await waitFor('the new version running', async () => {
      const status = await web()
      return status?.state === 'running' && status.instances.length === 1 && status.instances[0]!.unit !== stuck && status
    }, 20_000, 100)
    const took = Date.now() - setAt
    t.diagnostic(`new version running ${took} ms after t set (the start timeout is 300 s)`)
    assert.ok(took < 20_000)
    assert.ok(!(await h.units()).includes(stuck), `${stuck} is gone`)
    assert.deepEqual(await processesOf(stuck), [], 'no process of the superseded version is left')

    const status = await h.status()
    const events = status.events.filter((e) => e.process === 'web')
    assert.ok(events.some((e) => new RegExp(`${stuck}.*superseded`).test(e.message)), JSON.stringify(events))
    assert.ok(!events.some((e) => e.kind === 'start-failed' || e.kind === 'error'), JSON.stringify(events))
    assert.equal(running.lastFailure, undefined, 'no failure is reported for a canceled start')
    assert.equal(status.processes.find((p) => p.name === 'steady')!.instances[0]!.restarts, 0)
  })

  it('stops a start that hangs at once when its process leaves the target', async () => {
    await h.setTarget(target('c', 'sleep 600'))
    const stuck = await stuckStart()
    await h.setTarget(`
processes:
  - name: steady
    command: ["sleep", "600"]
`)
    await waitFor('the hanging start gone', async () => !(await h.units()).includes(stuck) && (await processesOf(stuck)).length === 0, 20_000, 100)
    await waitFor('web gone from status', async () => (await web()) === undefined, 10_000)
  })
})
