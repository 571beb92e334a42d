/**
 * The documented limit: 1000 processes in one target. One `t set` must bring every one to
 * `running` in `status`, without launcho losing track of a unit (a unit it cannot read is not a
 * unit that is gone: starting it again fails with UnitExists, "already loaded"), without a failed
 * pass, with `status` answering, and a second identical `t set` must change nothing.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor, type StatusJson} from '../helpers/harness.js'

const COUNT = 1000
const names = Array.from({length: COUNT}, (_, i) => `p${String(i).padStart(4, '0')}`)
const target = `processes:\n${names.map((name) => `  - name: ${name}\n    command: ["sleep", "infinity"]\n`).join('')}`

const logLines = (h: Harness, pattern: RegExp) => h.serverLog.split('\n').filter((line) => pattern.test(line))
const alreadyLoaded = /already loaded|UnitExists/
const passFailed = /reconcile pass failed|"msg":"action failed"/

/** process → "unit pid" for every process with exactly one active instance. */
function runningPids(status: StatusJson): Map<string, string> {
  const pids = new Map<string, string>()
  for (const process of status.processes) {
    const [only, ...more] = process.instances
    if (process.state === 'running' && only && more.length === 0 && only.activeState === 'active' && only.pid > 0) {
      pids.set(process.name, `${only.unit} ${only.pid}`)
    }
  }
  return pids
}

describe(`${COUNT} plain processes (the target limit)`, () => {
  let h: Harness
  before(async () => {
    h = await Harness.start()
  })
  after(async () => h?.close())

  it('one t set: all running in status, no "already loaded", no failed pass; status answers; the same t set again changes nothing', async (t) => {
    const file = await h.writeFile('target.yaml', target)
    const started = Date.now()
    // --detach: this measures the server until status shows all running, not the CLI's follow.
    const out = await h.ok(['t', 'set', file, '--detach'])
    assert.equal(out.split('\n').filter((line) => /^start\s+p\d{4} /.test(line)).length, COUNT, 'every process is to start')

    let last: StatusJson | undefined
    const running = await waitFor(`all ${COUNT} running in status`, async () => {
      last = await h.status()
      const pids = runningPids(last)
      return pids.size === COUNT && pids
    }, 90_000, 500).catch((error: Error) => {
      const states = new Map<string, number>()
      for (const process of last?.processes ?? []) states.set(process.state, (states.get(process.state) ?? 0) + 1)
      const lost = logLines(h, alreadyLoaded)
      throw new Error(`${error.message}; last status: ${JSON.stringify(Object.fromEntries(states))}; ` +
        `${lost.length} "already loaded" line(s), e.g. ${lost[0]?.slice(0, 300)}`)
    })
    t.diagnostic(`t set of ${COUNT} processes until all running in status: ${Date.now() - started} ms`)

    const units = await h.units()
    assert.equal(units.length, COUNT, 'systemd runs one unit per process')
    assert.deepEqual(logLines(h, alreadyLoaded), [], 'no start of a unit that already ran')
    assert.deepEqual(logLines(h, passFailed), [], 'no failed pass or action')

    const timings: number[] = []
    for (let i = 0; i < 3; i++) {
      const at = Date.now()
      const status = await h.cli(['status'])
      timings.push(Date.now() - at)
      assert.equal(status.code, 0, status.stderr)
      assert.equal(status.stdout.split('\n').filter((line) => / running /.test(line)).length, COUNT)
    }
    t.diagnostic(`status with ${COUNT} processes answered in ${timings.join(', ')} ms (CLI start-up included)`)

    const again = Date.now()
    assert.equal((await h.ok(['t', 'set', file])).trim(), 'No process changes.')
    t.diagnostic(`the identical t set answered in ${Date.now() - again} ms`)
    // Nothing may move for a few passes after it (signals, kicks, the target change itself).
    const watchUntil = Date.now() + 4_000
    while (Date.now() < watchUntil) {
      assert.deepEqual(runningPids(await h.status()), running, 'the same unit and PID for every process')
    }
    assert.deepEqual(await h.units(), units)
    assert.deepEqual(logLines(h, alreadyLoaded), [])
    assert.deepEqual(logLines(h, passFailed), [])
  })
})
