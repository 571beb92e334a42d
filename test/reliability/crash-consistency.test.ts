/**
 * Crash consistency: the server is killed with SIGKILL at a random moment 0–300 ms after a
 * `t set`, `secret set` or `resource up` request went out (on a warm connection, so the request
 * reaches it at once; half the trials draw from 0–60 ms, while the request itself is handled),
 * then restarted. 17 trials per command, 51 in all. Each time the stored state must be the old or the new,
 * never torn; a write the client saw acknowledged must be the new; the server must start again;
 * and every process of the target must end up running exactly once, in the version the stored
 * state says, while a process no trial touches keeps its very first MainPID.
 */
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor} from '../helpers/harness.js'
import {credentials, NetAgent} from './helpers/agent.js'
import {assertNoLeaks, dotFiles, readOrUndefined, say, sha256} from './helpers/common.js'
import {startServer} from './helpers/server.js'

const TRIALS_PER_KIND = 17
const UPLOAD_BYTES = 2 * 1024 * 1024

function targetText(generation: number): string {
  return `processes:
  - name: steady
    command: ["sleep", "100000"]
  - name: app
    command: ["sleep", "100000"]
    env:
      GEN: "${generation}"
      SECRET: "\${SECRET_X}"
`
}

type Kind = 't set' | 'secret set' | 'resource up'
type Outcome = 'old' | 'new'

describe('crash consistency under kill -9 of the server', () => {
  let h: Harness
  let agent: NetAgent
  let steadyUnit = ''
  let steadyPid = ''
  const secretValues: string[] = []
  /** Server logs of earlier runs (the harness keeps only the current run's). */
  const earlierLogs: string[] = []
  const tally: Record<Kind, {old: number; new: number; acked: number; inFlight: number; afterAnswer: number}> = {
    't set': {old: 0, new: 0, acked: 0, inFlight: 0, afterAnswer: 0},
    'secret set': {old: 0, new: 0, acked: 0, inFlight: 0, afterAnswer: 0},
    'resource up': {old: 0, new: 0, acked: 0, inFlight: 0, afterAnswer: 0},
  }

  before(async () => {
    h = await Harness.start()
    agent = await NetAgent.start(h.sandbox.netns)
    const first = `initial-${randomBytes(12).toString('hex')}`
    secretValues.push(first)
    await h.ok(['secret', 'set', 'SECRET_X', first])
    await h.setTarget(targetText(0))
    const units = await converged(0, first)
    steadyUnit = units.steady
    steadyPid = (await h.unit(steadyUnit, ['MainPID'])).MainPID!
  })
  after(async () => {
    await agent?.close()
    await h?.close()
  })

  const targetFile = () => join(h.stateDir, 'target.yaml')
  const secretsFile = () => join(h.stateDir, 'secrets.json')
  const resourcesDir = () => join(h.stateDir, 'resources')

  /** Waits until each process runs as exactly one active unit, app with the given GEN and secret. */
  async function converged(generation: number, secret: string): Promise<{steady: string; app: string}> {
    return waitFor(
      `exactly one steady and one app (GEN=${generation})`,
      async () => {
        const units = await h.units()
        const steady = units.filter((u) => u.startsWith('launcho-steady-'))
        const app = units.filter((u) => u.startsWith('launcho-app-'))
        if (steady.length !== 1 || app.length !== 1 || units.length !== 2) return false
        const props = await h.unit(app[0]!, ['ActiveState'])
        if (props.ActiveState !== 'active') return false
        const env = await h.processEnv(app[0]!)
        if (env?.GEN !== `${generation}` || env.SECRET !== secret) return false
        return {steady: steady[0]!, app: app[0]!}
      },
      20_000,
      100,
    )
  }

  function storedGeneration(text: string): number {
    return Number(/GEN: "(\d+)"/.exec(text)![1])
  }

  async function storedSecret(): Promise<string> {
    return (JSON.parse((await readOrUndefined(secretsFile())) ?? '{}') as Record<string, string>).SECRET_X!
  }

  /** One trial: fire, kill at a random moment, inspect the files, restart, inspect the processes. */
  async function trial(kind: Kind, index: number, t: import('node:test').TestContext): Promise<void> {
    const oldTarget = (await readFile(targetFile(), 'utf8'))
    const oldSecret = await storedSecret()
    const generation = storedGeneration(oldTarget) + 1
    const newTarget = targetText(generation)
    const newSecret = `value-${index}-${randomBytes(16).toString('hex')}`
    let upload: {path: string; id: string} | undefined
    if (kind === 'resource up') {
      const bytes = randomBytes(UPLOAD_BYTES)
      const path = join(h.dir, `upload-${index}.bin`)
      await writeFile(path, bytes)
      upload = {path, id: sha256(bytes)}
    }
    if (kind === 'secret set') secretValues.push(newSecret)

    const {ca, token} = await credentials(h)
    const warm = await agent.warm(h.port, ca, token)
    assert.equal(warm.status, 200, `warm-up ping: ${warm.error ?? warm.text}`)
    // Every delay is in 0–300 ms; odd trials draw from 0–60 ms, the request's own handling time
    // (parse, validate, write, fsync, rename, answer), so more kills land inside it.
    const delay = Math.floor(Math.random() * (index % 2 === 0 ? 301 : 61))
    const pid = h.server!.pid!
    const auth = {authorization: `Bearer ${token}`}
    const request =
      kind === 't set'
        ? {method: 'PUT', path: '/v1/target', headers: {...auth, 'content-type': 'application/json'}, body: JSON.stringify({text: newTarget})}
        : kind === 'secret set'
          ? {method: 'PUT', path: '/v1/secrets/SECRET_X', headers: {...auth, 'content-type': 'application/json'}, body: JSON.stringify({value: newSecret})}
          : {
              method: 'PUT',
              path: '/v1/resources',
              headers: {...auth, 'content-type': 'application/octet-stream', 'x-launcho-sha256': upload!.id, 'x-launcho-name': `trial-${index}`},
              bodyFile: upload!.path,
            }
    const answer = await agent.request({port: h.port, ca, warm: true, ...request, kill: {pid, afterMs: delay}})
    await h.stopServer('SIGKILL')
    earlierLogs.push(h.serverLog)
    const acked = answer.status !== undefined && answer.status < 300 && answer.answeredAtMs !== undefined && (answer.killedAtMs === undefined || answer.answeredAtMs < answer.killedAtMs)
    const when = answer.answeredAtMs === undefined ? 'in flight' : acked ? `after the answer (${answer.status} at ${answer.answeredAtMs} ms)` : `answered ${answer.status} at ${answer.answeredAtMs} ms`

    // The files as the kill left them, before anything else touches them.
    let outcome: Outcome
    if (kind === 't set') {
      const stored = await readFile(targetFile(), 'utf8')
      assert.ok(stored === oldTarget || stored === newTarget, `target.yaml is neither old nor new:\n${stored}`)
      outcome = stored === newTarget ? 'new' : 'old'
    } else if (kind === 'secret set') {
      const text = (await readOrUndefined(secretsFile()))!
      let parsed: Record<string, string>
      assert.doesNotThrow(() => (parsed = JSON.parse(text) as Record<string, string>), `secrets.json is not JSON: ${text.slice(0, 200)}`)
      assert.deepEqual(Object.keys(parsed!), ['SECRET_X'])
      assert.ok([oldSecret, newSecret].includes(parsed!.SECRET_X!), 'secrets.json holds neither the old nor the new value')
      outcome = parsed!.SECRET_X === newSecret ? 'new' : 'old'
    } else {
      const content = await readFile(join(resourcesDir(), upload!.id)).catch(() => undefined)
      if (content !== undefined) {
        assert.equal(content.length, UPLOAD_BYTES, 'a stored resource is whole')
        assert.equal(sha256(content), upload!.id, 'a stored resource has the content its id names')
      }
      outcome = content === undefined ? 'old' : 'new'
    }
    if (acked) assert.equal(outcome, 'new', `${kind} was acknowledged (${answer.status}) before the kill but the stored state is the old one`)
    const leftBehind = [...(await dotFiles(h.stateDir)), ...(await dotFiles(resourcesDir()))]

    await startServer(h)
    // Restart must not change what was stored, and must serve it.
    if (kind === 't set') {
      assert.equal((await agent.api<{text: string}>(h, 'GET', '/v1/target')).json.text, outcome === 'new' ? newTarget : oldTarget)
    } else if (kind === 'secret set') {
      assert.equal((await agent.api<{value: string}>(h, 'GET', '/v1/secrets/SECRET_X')).json.value, outcome === 'new' ? newSecret : oldSecret)
    } else {
      const listed = (await agent.api<{resources: Array<{id: string; name: string; size: number}>}>(h, 'GET', '/v1/resources')).json.resources
      const mine = listed.find((r) => r.id === upload!.id)
      assert.equal(mine !== undefined, outcome === 'new', 'resource listed iff stored')
      if (mine) assert.deepEqual([mine.name, mine.size], [`trial-${index}`, UPLOAD_BYTES], 'metadata of a stored resource')
      assert.deepEqual(await dotFiles(resourcesDir()), [], 'partial uploads are cleared at start')
    }
    const storedGen = storedGeneration(await readFile(targetFile(), 'utf8'))
    const units = await converged(storedGen, await storedSecret())
    assert.equal(units.steady, steadyUnit, 'steady keeps its unit')
    const steady = await h.unit(steadyUnit, ['MainPID', 'NRestarts'])
    assert.deepEqual([steady.MainPID, steady.NRestarts], [steadyPid, '0'], 'steady never restarted')
    const tempAfter = await dotFiles(h.stateDir)
    assert.deepEqual(tempAfter, [], `temp files left in the state dir after the restart: ${tempAfter.join(', ')}`)

    const counts = tally[kind]
    counts[outcome]++
    if (acked) counts.acked++
    if (answer.answeredAtMs === undefined) counts.inFlight++
    else counts.afterAnswer++
    say(t, `#${index} ${kind}: kill at ${delay} ms (${when}) → stored ${outcome}; temp files at kill: ${leftBehind.length}; restarted; app ${units.app} GEN=${storedGen}; steady pid ${steadyPid} unchanged`)
    if (upload) await rm(upload.path, {force: true})
  }

  for (const kind of ['t set', 'secret set', 'resource up'] as const) {
    it(`${kind}: ${TRIALS_PER_KIND} kills at random moments leave old-or-new state and exactly one instance per process`, async (t) => {
      for (let i = 0; i < TRIALS_PER_KIND; i++) await trial(kind, i, t)
      // The real CLI reads back what the last restart serves.
      if (kind === 't set') assert.equal(await h.ok(['t', 'get']), await readFile(targetFile(), 'utf8'))
      if (kind === 'secret set') assert.equal((await h.ok(['secret', 'get', 'SECRET_X'])).trim(), await storedSecret())
      if (kind === 'resource up') assert.equal((JSON.parse(await h.ok(['r', 'ls', '--json'])) as {resources: unknown[]}).resources.length, tally[kind].new)
      const counts = tally[kind]
      say(t, `${kind}: ${TRIALS_PER_KIND} trials; stored old ${counts.old}, new ${counts.new}; killed in flight ${counts.inFlight}, after the answer ${counts.afterAnswer} (acknowledged ${counts.acked}, all kept)`)
      assert.equal(counts.old + counts.new, TRIALS_PER_KIND)
    })
  }

  it('no secret value or token appeared in the server log or the journal', async (t) => {
    const {token} = await credentials(h)
    const searched = await assertNoLeaks(h, [...secretValues, token], earlierLogs)
    say(t, `searched ${secretValues.length} secret values and the token in ${searched.serverLogBytes} bytes of server log (all runs) and ${searched.journalBytes} bytes of journal`)
  })
})
