/**
 * After an instance that reset a connection is replaced, a client that connects again from the
 * same source port reaches the new version. The kernel keeps a reset NAT'd connection (state
 * CLOSE, 10 s, restarted by every refused retry) bound to the instance it went to and sends that
 * port's next SYN there; launcho forgets such records when it stops an instance (conntrack), so
 * the retry is not refused. nftables in the sandbox network, a real server and real systemd.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {after, before, describe, it} from 'node:test'
import {promisify} from 'node:util'
import {Harness, waitFor} from '../helpers/harness.js'
import {getFrom, webApp} from '../helpers/services.js'

const SERVICE = 'http://127.0.0.1:5000/'
const resetter = `require('net').createServer((socket) => socket.resetAndDestroy()).listen(Number(process.env.SERVICE_PORT_WEB), '127.0.0.1')`
const target = (command: string[]) => `processes:
  - name: web
    command: ${JSON.stringify(command)}
    env: {APP_VERSION: v2}
    receives: [web]
services:
  - name: web
    on: "127.0.0.1:5000"
`

describe('connections an instance reset, after it is replaced (nftables)', () => {
  let h: Harness

  before(async () => {
    await promisify(execFile)('conntrack', ['--version']).catch(() => {
      throw new Error('this test needs conntrack: apt-get install conntrack')
    })
    h = await Harness.start({server: false})
    await h.startServer(['--config', await h.writeFile('config.yaml', 'lb: nftables\ndrainTimeoutSeconds: 2\n')])
  })
  after(async () => h?.close())

  it('a client reusing the source port of a connection the old instance reset reaches the new version', async () => {
    await h.setTarget(target(['node', '-e', resetter]), {wait: true})
    const port = 42_000 + Math.floor(Math.random() * 1000)
    await waitFor('the resetter resets', async () => (await getFrom(h, SERVICE, port)) === 'error ECONNRESET', 10_000, 100)
    const old = (await h.units()).find((unit) => unit.startsWith('launcho-web-'))!
    await h.setTarget(target(['node', webApp]), {wait: true})
    await waitFor('the resetter stopped', async () => !(await h.units()).includes(old), 20_000, 100)
    // Other source ports reach the new version: the balancer has switched.
    assert.match(await getFrom(h, SERVICE, port + 1), /^200 v2 /)
    assert.match(await getFrom(h, SERVICE, port), /^200 v2 /, 'the port whose connection was reset is sent to the stopped instance')
  })
})
