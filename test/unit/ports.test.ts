import assert from 'node:assert/strict'
import {createServer} from 'node:net'
import {describe, it} from 'node:test'
import {PortAllocator, portIsFree, portVariable} from '../../src/lb/ports.js'

describe('port allocation', () => {
  it('names the variable after the service, upper case, "-" as "_"', () => {
    assert.equal(portVariable('my-web'), 'SERVICE_PORT_MY_WEB')
    assert.equal(portVariable('traffic'), 'SERVICE_PORT_TRAFFIC')
  })

  it('never hands a port out twice, and frees it when the instance goes', async () => {
    const ports = new PortAllocator({first: 20000, last: 20002}, async () => true)
    const a = await ports.allocate('a.service', ['web', 'admin'])
    const b = await ports.allocate('b.service', ['web'])
    assert.equal(new Set([a.web, a.admin, b.web]).size, 3)
    await assert.rejects(ports.allocate('c.service', ['web']), /no free port left in 20000-20002/)
    ports.release('a.service')
    const c = await ports.allocate('c.service', ['web', 'admin'])
    assert.deepEqual(new Set([c.web, c.admin]), new Set([a.web, a.admin]))
  })

  it('concurrent allocations get distinct ports', async () => {
    const ports = new PortAllocator({first: 21000, last: 21099}, () => new Promise((r) => setTimeout(() => r(true), 5)))
    const all = await Promise.all(Array.from({length: 20}, (_, i) => ports.allocate(`u${i}`, ['web'])))
    assert.equal(new Set(all.map((p) => p.web)).size, 20)
  })

  it('skips ports something else listens on', async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve))
    const busy = (server.address() as {port: number}).port
    assert.equal(await portIsFree(busy), false)
    const ports = new PortAllocator({first: busy, last: busy + 100})
    assert.notEqual((await ports.allocate('a', ['web'])).web, busy)
    server.close()
  })

  it('re-derives ports from a unit environment after a restart', () => {
    const env = ['FOO=1', 'SERVICE_PORT_WEB=20005', 'SERVICE_PORT_MY_API=20006']
    assert.deepEqual(PortAllocator.portsFromEnvironment(env, ['web', 'my-api', 'absent']), {web: 20005, 'my-api': 20006})
    const ports = new PortAllocator({first: 20005, last: 20007}, async () => true)
    ports.adopt('old.service', [20005, 20006])
    return ports.allocate('new.service', ['web']).then((p) => assert.equal(p.web, 20007))
  })
})
