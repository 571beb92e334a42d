/**
 * A CLI of the server's own version prints the server's answers with --json as they came (it no
 * longer checks them, src/cli/client.ts): so every answer must be exactly what the protocol's
 * schema says, nothing more. For a server with replicas behind a service, a sandboxed process
 * with limits and a credential, a named command, two releases and their events, each --json
 * answer read back through its route's schema is unchanged (the schema keeps every field).
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {routes} from '../../src/protocol/routes.js'
import {Harness, waitFor} from '../helpers/harness.js'
import {visibleFixture} from '../helpers/visible-fixture.js'

// Where a PrivateTmp unit (sandbox: basic) sees it, also from a clone under /tmp.
const app = await visibleFixture('web-app.cjs')

const target = (version: string) => `processes:
  - name: web
    command: ["node", "${app.path}"]
    uid: nobody
    replicas: 2
    sandbox: basic
    cpuQuota: 150%
    tasksMax: 64
    env:
      APP_VERSION: "${version}"
    credentials:
      DB_PASSWORD: "\${DB_PASSWORD}"
    receives: [web]
    health: {service: web, path: /health, interval: 200ms}
commands:
  migrate: {process: web, command: ["true"]}
services:
  - name: web
    on: "127.0.0.1:5000"
`

describe('the answers a CLI prints as they came', () => {
  let h: Harness
  before(async () => {
    h = await Harness.start({server: false})
    await h.startServer(['--config', await h.writeFile('config.yaml', 'lb: nftables\n')])
    await h.ok(['secret', 'set', 'DB_PASSWORD', 'hunter2-protocol'])
    await h.setTarget(target('v1'), {wait: true})
    await h.setTarget(target('v2'), {wait: true})
    await waitFor('both replicas of v2 serving', async () => {
      const web = (await h.status()).processes.find((p) => p.name === 'web')
      return web?.instances.filter((i) => i.current && i.traffic === 'in').length === 2
    }, 30_000)
  })
  after(async () => {
    await h?.close()
    await app.remove()
  })

  const same = (what: string, schema: {parse(value: unknown): unknown}, text: string) => {
    const raw = JSON.parse(text) as unknown
    assert.deepEqual(schema.parse(raw), raw, `${what}: the answer has fields its schema does not`)
  }

  it('status, with usage and exposure costs', async () => {
    same('status', routes.status.response, await h.ok(['status', '--json', '--events', '100']))
  })

  it('history and one release', async () => {
    same('history', routes.history.response, await h.ok(['history', '--json']))
    same('history 1', routes.release.response, await h.ok(['history', '1', '--json']))
  })

  it('events, one per line', async () => {
    const lines = (await h.ok(['events', '-n', '100', '--json'])).trim().split('\n')
    assert.ok(lines.length > 5)
    for (const line of lines) same('event', routes.events.item, line)
  })

  it('named commands, secrets and resources', async () => {
    same('run --list', routes.commands.response, await h.ok(['run', '--list', '--json']))
    same('secret ls', routes.listSecrets.response, await h.ok(['secret', 'ls', '--json']))
    same('resource ls', routes.listResources.response, await h.ok(['resource', 'ls', '--json']))
  })
})
