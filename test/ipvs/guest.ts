/**
 * Runs inside the IPVS test VM (a real kernel with ip_vs): drives the compiled IpvsBalancer
 * against the kernel and reports each check on the console for the host test to read.
 * Assertions are on HTTP responses through the VIP, not on IPVS stats (those counters lag).
 */
import {execFileSync} from 'node:child_process'
import http from 'node:http'
import net from 'node:net'
import {setTimeout as sleep} from 'node:timers/promises'
import type {Backend, ServiceTable} from '../../src/lb/balancer.js'
import {IpvsBalancer} from '../../src/lb/ipvs.js'
import {CHECK_PREFIX, DONE_LINE, type CheckName} from './checks.js'

const ids = {a: 20001, b: 20002, c: 20003}
const backend = (id: keyof typeof ids, weight = 1): Backend => ({host: '127.0.0.1', port: ids[id], weight})
const web = (...backends: Backend[]): ServiceTable => ({name: 'web', on: {host: '127.0.0.1', port: 5000}, backends})
const api = (...backends: Backend[]): ServiceTable => ({name: 'api', on: {host: '10.99.0.10', port: 80}, backends})
const ipvsadm = (...args: string[]) => execFileSync('ipvsadm', args, {encoding: 'utf8'})

function get(host: string, port: number, agent: http.Agent | false = false): Promise<{body: string; reused: boolean}> {
  return new Promise((resolve, reject) => {
    const request = http.get({host, port, agent, timeout: 3_000}, (response) => {
      let body = ''
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
      response.on('end', () => resolve({body, reused: request.reusedSocket}))
    })
    request.on('timeout', () => request.destroy(new Error('timed out')))
    request.on('error', reject)
  })
}

/** One GET over a connection from this local port: the body, or the error (ECONNRESET, timed out). */
function getFromPort(localPort: number, timeoutMs = 3_000): Promise<{body?: string; error?: string; ms: number}> {
  const started = Date.now()
  return new Promise((resolve) => {
    const socket = net.connect({host: '127.0.0.1', port: 5000, localAddress: '127.0.0.1', localPort})
    let data = ''
    const done = (outcome: {body?: string; error?: string}) => {
      clearTimeout(timer)
      socket.destroy()
      resolve({...outcome, ms: Date.now() - started})
    }
    const timer = setTimeout(() => done({error: 'timed out'}), timeoutMs)
    socket.on('connect', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'))
    socket.setEncoding('utf8').on('data', (chunk: string) => (data += chunk))
    socket.on('end', () => done({body: data.slice(data.indexOf('\r\n\r\n') + 4)}))
    socket.on('error', (error: NodeJS.ErrnoException) => done({error: error.code ?? error.message}))
  })
}

async function tally(host: string, port: number, n: number): Promise<Record<string, number>> {
  const seen: Record<string, number> = {}
  for (let i = 0; i < n; i++) {
    const {body} = await get(host, port)
    seen[body] = (seen[body] ?? 0) + 1
  }
  return seen
}

async function check(name: CheckName, body: () => Promise<string>): Promise<void> {
  let report: {name: CheckName; ok: boolean; detail: string}
  try {
    report = {name, ok: true, detail: await body()}
  } catch (error) {
    report = {name, ok: false, detail: String((error as Error)?.stack ?? error)}
  }
  process.stdout.write(`${CHECK_PREFIX}${JSON.stringify(report)}\n`)
}

function expect(condition: boolean, message: string): void {
  if (!condition) throw new Error(message)
}

async function main(): Promise<void> {
  for (const [id, port] of Object.entries(ids)) {
    const server = http.createServer((_request, response) => response.end(id))
    server.keepAliveTimeout = 60_000
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  }
  ipvsadm('-A', '-t', '127.0.0.1:7000', '-s', 'rr')
  let applied = 0
  const ownedFile = '/tmp/launcho-ipvs-owned.json'
  const lb = new IpvsBalancer({ownedFile, onApply: () => applied++})

  await check('sync creates a wrr service with masquerading real servers (ipvsadm -S -n)', async () => {
    await lb.sync([web(backend('a'), backend('b'))])
    const saved = ipvsadm('-S', '-n')
    for (const line of ['-A -t 127.0.0.1:5000 -s wrr', '-a -t 127.0.0.1:5000 -r 127.0.0.1:20001 -m -w 1', '-a -t 127.0.0.1:5000 -r 127.0.0.1:20002 -m -w 1']) {
      expect(saved.includes(line), `missing "${line}" in:\n${saved}`)
    }
    return saved
  })

  await check('requests to 127.0.0.1:5000 reach every backend', async () => {
    const seen = await tally('127.0.0.1', 5000, 10)
    expect(seen.a === 5 && seen.b === 5, `wrr 1:1 over 10 connections: ${JSON.stringify(seen)}`)
    return JSON.stringify(seen)
  })

  await check('weights 3:1 split new connections about 3:1', async () => {
    await lb.sync([web(backend('a', 3), backend('b', 1))])
    const seen = await tally('127.0.0.1', 5000, 40)
    expect(seen.a >= 27 && seen.a <= 33 && seen.a + seen.b === 40, `expected about 30:10, got ${JSON.stringify(seen)}`)
    return JSON.stringify(seen)
  })

  await check('a VIP outside 127/8 gets a local address and balances', async () => {
    await lb.sync([web(backend('a'), backend('b')), api(backend('b'), backend('c'))])
    const addresses = execFileSync('ip', ['-4', 'addr', 'show', 'dev', 'lo'], {encoding: 'utf8'})
    expect(addresses.includes('10.99.0.10/32'), `no 10.99.0.10/32 on lo:\n${addresses}`)
    const seen = await tally('10.99.0.10', 80, 10)
    expect(seen.b === 5 && seen.c === 5, `expected b and c, got ${JSON.stringify(seen)}`)
    return JSON.stringify(seen)
  })

  const held = new http.Agent({keepAlive: true, maxSockets: 1})
  await check('weight 0: no new connections, an open connection keeps working', async () => {
    const first = await get('127.0.0.1', 5000, held)
    const drained = first.body as 'a' | 'b'
    const other = drained === 'a' ? 'b' : 'a'
    await lb.sync([web(backend(drained, 0), backend(other)), api(backend('b'), backend('c'))])
    expect(ipvsadm('-S', '-n').includes(`-r 127.0.0.1:${ids[drained]} -m -w 0`), 'the drained real is not at weight 0')
    const seen = await tally('127.0.0.1', 5000, 10)
    expect(seen[other] === 10, `new connections must all go to ${other}: ${JSON.stringify(seen)}`)
    const again = await get('127.0.0.1', 5000, held)
    expect(again.reused && again.body === drained, `held connection: ${JSON.stringify(again)}`)
    const active = await lb.activeConnections('web', backend(drained))
    expect(active !== undefined && active >= 1, `activeConnections of the drained backend: ${active}`)
    return `drained ${drained}, held connection still answered by it, activeConnections=${active}`
  })

  await check('a drained real server is deleted once its connections are gone', async () => {
    held.destroy()
    const table = ipvsadm('-S', '-n').includes('127.0.0.1:20001 -m -w 0') ? web(backend('a', 0), backend('b')) : web(backend('a'), backend('b', 0))
    for (let i = 0; i < 50 && ipvsadm('-S', '-n').includes('-m -w 0'); i++) {
      await sleep(100)
      await lb.sync([table, api(backend('b'), backend('c'))])
    }
    const saved = ipvsadm('-S', '-n')
    expect(!saved.includes('-m -w 0'), `weight-0 real still there:\n${saved}`)
    return saved
  })

  await check('replacing a backend under a request loop fails no request', async () => {
    await lb.sync([web(backend('a'), backend('b')), api(backend('b'), backend('c'))])
    let running = true
    let ok = 0
    const failures: string[] = []
    const loop = (async () => {
      while (running) await get('127.0.0.1', 5000).then(() => ok++, (error: Error) => failures.push(error.message))
    })()
    await sleep(300)
    await lb.sync([web(backend('a'), backend('c')), api(backend('b'), backend('c'))])
    await sleep(300)
    running = false
    await loop
    const seen = await tally('127.0.0.1', 5000, 10)
    expect(failures.length === 0, `${failures.length} failed of ${ok + failures.length}: ${failures[0]}`)
    expect(ok >= 10, `only ${ok} requests ran during the swap`)
    expect(!seen.b && seen.a === 5 && seen.c === 5, `after the swap: ${JSON.stringify(seen)}`)
    // b left at weight 0 (a request in flight to it finished there); the balancer looks again by
    // itself and deletes it once it has no connection, with no other sync.
    for (let i = 0; i < 80 && ipvsadm('-S', '-n').includes('127.0.0.1:5000 -r 127.0.0.1:20002'); i++) await sleep(100)
    // Queued after the follow-up that deleted it, so that one has finished (and been counted) too.
    await lb.sync([web(backend('a'), backend('c')), api(backend('b'), backend('c'))])
    const saved = ipvsadm('-S', '-n')
    expect(!saved.includes('127.0.0.1:5000 -r 127.0.0.1:20002'), `the replaced real is still there:\n${saved}`)
    return `${ok} requests, 0 failed; after: ${JSON.stringify(seen)}`
  })

  const current = [web(backend('a'), backend('c')), api(backend('b'), backend('c'))]
  await check('sync with an unchanged table applies nothing', async () => {
    const before = applied
    await lb.sync(current)
    await lb.sync(current)
    expect(applied === before, `${applied - before} batches applied for an unchanged table`)
    return 'no ipvsadm -R run'
  })

  await check('a real server deleted by hand is restored by the next sync', async () => {
    ipvsadm('-d', '-t', '127.0.0.1:5000', '-r', '127.0.0.1:20003')
    await lb.sync(current)
    expect(ipvsadm('-S', '-n').includes('-a -t 127.0.0.1:5000 -r 127.0.0.1:20003 -m -w 1'), 'not restored')
    return 'restored'
  })

  await check('a client port reused after a stopped backend reset it reaches a live backend at once', async () => {
    // The nftables balancer had this: the reset connection's entry outlived its backend and sent the
    // port's next connection to the stopped one (src/lb/conntrack.ts).
    const resetter = net.createServer((socket) => socket.resetAndDestroy())
    await new Promise<void>((resolve) => resetter.listen(20004, '127.0.0.1', resolve))
    const r: Backend = {host: '127.0.0.1', port: 20004, weight: 1}
    const others = api(backend('b'), backend('c'))
    await lb.sync([web(r), others])
    const localPort = 40123
    const first = await getFromPort(localPort)
    expect(first.error === 'ECONNRESET', `the resetting backend: ${JSON.stringify(first)}`)
    await new Promise<void>((resolve) => resetter.close(() => resolve()))
    // As a rollout does: the new backend in, the stopped one drained, then out once it has no connection.
    await lb.sync([web(backend('b'), {...r, weight: 0}), others])
    for (let i = 0; i < 50 && ipvsadm('-S', '-n').includes('127.0.0.1:20004'); i++) {
      await sleep(100)
      await lb.sync([web(backend('b')), others])
    }
    expect(!ipvsadm('-S', '-n').includes('127.0.0.1:20004'), 'the stopped backend is still a real server')
    const second = await getFromPort(localPort)
    expect(second.body === 'b' && second.ms < 500, `the reused port: ${JSON.stringify(second)}; connections: ${ipvsadm('-L', '-n', '-c')}`)
    return `the reused port reached b in ${second.ms} ms`
  })

  await check('a virtual service launcho did not create is left alone', async () => {
    await lb.sync([api(backend('b'))])
    const saved = ipvsadm('-S', '-n')
    expect(saved.includes('-A -t 127.0.0.1:7000 -s rr'), `foreign service gone:\n${saved}`)
    expect(!saved.includes('127.0.0.1:5000'), `web should be removed:\n${saved}`)
    return saved
  })

  await check('a restarted balancer removes its own leftover service (ownership record)', async () => {
    const restarted = new IpvsBalancer({ownedFile})
    await restarted.sync([])
    const saved = ipvsadm('-S', '-n')
    expect(!saved.includes('10.99.0.10:80') && saved.includes('127.0.0.1:7000'), `after restart:\n${saved}`)
    const addresses = execFileSync('ip', ['-4', 'addr', 'show', 'dev', 'lo'], {encoding: 'utf8'})
    expect(!addresses.includes('10.99.0.10'), `VIP address left on lo:\n${addresses}`)
    return saved
  })

  process.stdout.write(`${DONE_LINE}\n`)
  process.exit(0)
}

main().catch((error: unknown) => {
  process.stdout.write(`LAUNCHO-IPVS-CRASH ${String((error as Error)?.stack ?? error)}\n`)
  process.exit(1)
})
