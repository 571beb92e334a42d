import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor} from '../helpers/harness.js'

const target = `
processes:
  - name: one
    command: ["sleep", "600"]
  - name: two
    command: ["/bin/sh", "-c", "echo two up; exec sleep 600"]
    uid: nobody
`

describe('processes survive the server', () => {
  let h: Harness
  before(async () => {
    h = await Harness.start()
    await h.setTarget(target)
    await waitFor('both running', async () => (await h.status()).processes.every((p) => p.state === 'running'))
  })
  after(async () => h?.close())

  const snapshot = async () => {
    const units = await h.units()
    return Promise.all(units.map(async (unit) => ({unit, ...(await h.unit(unit, ['MainPID', 'NRestarts', 'ActiveState']))})))
  }

  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`keeps every process running through ${signal} of the server and adopts them on start`, async () => {
      const before = await snapshot()
      assert.equal(before.length, 2)
      await h.stopServer(signal)
      const whileDown = await snapshot()
      assert.deepEqual(whileDown, before, 'nothing changed while the server was down')
      await h.startServer()
      // Give the reconciler a few passes to (wrongly) act before comparing.
      await waitFor('status answers', async () => (await h.status()).processes.length === 2)
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      assert.deepEqual(await snapshot(), before, 'same units, same MainPIDs, no restarts')
      const status = await h.status()
      assert.ok(status.processes.every((p) => p.state === 'running'))
      assert.equal(await h.ok(['t', 'get']), target, 'the target survived the restart')
    })
  }
})

describe('a stored target that cannot be applied', () => {
  let h: Harness
  before(async () => {
    h = await Harness.start()
  })
  after(async () => h?.close())

  it('leaves running processes alone and says why', async () => {
    await h.ok(['secret', 'set', 'GREETING', 'hi'])
    await h.setTarget('processes:\n  - name: greeter\n    command: ["sleep", "600"]\n    env: {GREETING: "${GREETING}"}\n')
    await waitFor('greeter running', async () => (await h.status()).processes[0]?.state === 'running')
    const before = await h.units()
    const pid = (await h.unit(before[0]!, ['MainPID'])).MainPID
    await h.stopServer('SIGTERM')
    // Lost while the server was down: the target now needs a secret that is not there.
    const {rm} = await import('node:fs/promises')
    await rm(`${h.stateDir}/secrets.json`)
    await h.startServer()
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    assert.deepEqual(await h.units(), before)
    assert.equal((await h.unit(before[0]!, ['MainPID'])).MainPID, pid)
    assert.match(await h.ok(['status']), /stored target cannot be applied: .*GREETING|secret "GREETING" is not set/)
  })
})

describe('the API refuses what it should', () => {
  let h: Harness
  before(async () => {
    h = await Harness.start()
  })
  after(async () => h?.close())

  it('refuses a request without a token', async () => {
    const response = await h.request({path: '/v1/status', token: false})
    assert.equal(response.status, 401)
    assert.match(response.body.toString(), /missing token/)
  })

  it('refuses a wrong token with a clear message and a non-zero exit', async () => {
    const good = await h.readFile(h.authFile)
    const wrong = good.replace(/token: .*/, `token: ${'ab'.repeat(32)}`)
    const result = await h.cli(['status', '--auth', await h.writeFile('wrong-token.yaml', wrong)], {auth: false})
    assert.notEqual(result.code, 0)
    assert.match(result.stderr, /refused the token/)
  })

  it("refuses a server presenting another server's certificate", async () => {
    const other = await h.cli(['print-auth', '--state-dir', `${h.dir}/other-server`, '--host', `127.0.0.1:${h.port}`], {auth: false})
    assert.equal(other.code, 0)
    const good = await h.readFile(h.authFile)
    const token = /token: (.*)/.exec(good)![1]!
    const pinnedToOther = other.stdout.replace(/token: .*/, `token: ${token}`)
    const result = await h.cli(['status', '--auth', await h.writeFile('other-cert.yaml', pinnedToOther)], {auth: false})
    assert.notEqual(result.code, 0)
    assert.match(result.stderr, /presented a certificate that is not the one in/)
  })

  it('keeps key, token, target and secrets files private (0600)', async () => {
    await h.ok(['secret', 'set', 'SOME_SECRET', 'value'])
    await h.setTarget('processes: []\n', {allowEmpty: true})
    const {stat} = await import('node:fs/promises')
    for (const file of ['launcho-server-auth.yaml', 'secrets.json', 'target.yaml']) {
      const mode = (await stat(`${h.stateDir}/${file}`)).mode & 0o777
      assert.equal(mode, 0o600, `${file} is ${mode.toString(8)}`)
    }
  })
})
