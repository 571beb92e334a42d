import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {createConnection, createServer, type Server, type Socket} from 'node:net'
import {after, before, describe, test} from 'node:test'
import {freePort, listen, proxyRig, rssOf, sleep, table, whoAnswers, namedBackend, type ProxyRig} from './lb-userspace-fixtures.js'

const MB = 1024 * 1024

describe('userspace proxy: half-close, backpressure, failures', {timeout: 60_000}, () => {
  let rig: ProxyRig
  let port: number
  let backend: Server | undefined

  before(async () => {
    rig = await proxyRig()
    port = await freePort()
  })
  after(async () => {
    backend?.close()
    await rig?.close()
  })

  /** Routes the service to a fresh backend running `handler` (allowHalfOpen, like the proxy's). */
  async function backendDoing(handler: (socket: Socket) => void, options: {pauseOnConnect?: boolean} = {}): Promise<void> {
    backend?.close()
    backend = createServer({allowHalfOpen: true, ...options}, (socket) => {
      socket.on('error', () => {})
      handler(socket)
    })
    await rig.balancer.sync([table('s', port, [[await listen(backend), 1]])])
  }

  const client = () => createConnection({host: '127.0.0.1', port, allowHalfOpen: true})

  test('the client sends, ends its side, then reads the whole response', async () => {
    await backendDoing((socket) => {
      const hash = createHash('sha256')
      let count = 0
      socket.on('data', (chunk: Buffer) => {
        count += chunk.length
        hash.update(chunk)
      })
      // Answers only after the client's FIN: that FIN must arrive while this side can still write.
      socket.on('end', () => socket.end(`${count} ${hash.digest('hex')}\n${'r'.repeat(2 * MB)}`))
    })
    const body = randomBytes(4 * MB)
    const socket = client()
    socket.end(body)
    const response = Buffer.concat(await socket.toArray()).toString()
    const [line, rest] = [response.slice(0, response.indexOf('\n')), response.slice(response.indexOf('\n') + 1)]
    assert.equal(line, `${body.length} ${createHash('sha256').update(body).digest('hex')}`)
    assert.equal(rest.length, 2 * MB)
  })

  test('the backend ends first and still receives everything the client sends after', async () => {
    let received!: Promise<number>
    await backendDoing((socket) => {
      socket.end('bye\n')
      received = new Promise((resolve) => {
        let count = 0
        socket.on('data', (chunk: Buffer) => (count += chunk.length))
        socket.on('end', () => resolve(count))
      })
    })
    const socket = client()
    let greeting = ''
    socket.on('data', (chunk) => (greeting += chunk))
    await new Promise((resolve) => socket.once('end', resolve))
    assert.equal(greeting, 'bye\n')
    socket.end(randomBytes(3 * MB))
    assert.equal(await received, 3 * MB)
  })

  test('a slow reader holds the backend back: 200 MB pass with bounded proxy memory', async (t) => {
    const total = 200 * MB
    let sent = 0
    await backendDoing((socket) => {
      const chunk = Buffer.alloc(256 * 1024, 7)
      const pump = () => {
        while (sent < total) {
          sent += chunk.length
          if (!socket.write(chunk)) return void socket.once('drain', pump)
        }
        socket.end()
      }
      pump()
    })
    const pid = rig.launcher.pid!
    const baseline = rssOf(pid)
    let peak = baseline
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 20)
    const socket = client()
    await sleep(1_500) // not reading: only socket buffers may fill
    const sentWhileAsleep = sent
    assert.ok(sentWhileAsleep < total / 2, `the backend got ${sent / MB} MB out to a reader that reads nothing`)
    let got = 0
    for await (const chunk of socket) got += (chunk as Buffer).length
    clearInterval(sampler)
    assert.equal(got, total)
    t.diagnostic(`sent while the reader slept: ${Math.round(sentWhileAsleep / MB)} MB; proxy RSS peak +${Math.round((peak - baseline) / MB)} MB`)
    assert.ok(peak - baseline < 80 * MB, `proxy RSS grew by ${Math.round((peak - baseline) / MB)} MB`)
  })

  test('a slow backend holds the client back: 200 MB upload with bounded proxy memory', async (t) => {
    const total = 200 * MB
    let received = 0
    let finished!: () => void
    const done = new Promise<void>((resolve) => (finished = resolve))
    await backendDoing(
      (socket) => {
        setTimeout(() => socket.resume(), 1_500)
        socket.on('data', (chunk: Buffer) => (received += chunk.length))
        socket.on('end', () => finished())
      },
      {pauseOnConnect: true},
    )
    const pid = rig.launcher.pid!
    const baseline = rssOf(pid)
    let peak = baseline
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 20)
    const socket = client()
    const chunk = Buffer.alloc(256 * 1024, 9)
    let written = 0
    const startedAt = Date.now()
    let writtenWhilePaused = 0
    while (written < total) {
      written += chunk.length
      if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve))
      if (Date.now() - startedAt < 1_400) writtenWhilePaused = written
    }
    socket.end()
    await done
    clearInterval(sampler)
    assert.equal(received, total)
    t.diagnostic(`sent while the backend slept: ${Math.round(writtenWhilePaused / MB)} MB; proxy RSS peak +${Math.round((peak - baseline) / MB)} MB`)
    assert.ok(writtenWhilePaused < total / 2, `the client got ${writtenWhilePaused / MB} MB out to a backend that reads nothing`)
    assert.ok(peak - baseline < 80 * MB, `proxy RSS grew by ${Math.round((peak - baseline) / MB)} MB`)
  })

  test('a backend reset reaches the client as a reset, a client reset reaches the backend, and the proxy carries on', async () => {
    await backendDoing((socket) => {
      socket.write('partial')
      setTimeout(() => socket.resetAndDestroy(), 50)
    })
    const socket = client()
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      socket.on('error', resolve)
      socket.on('end', () => resolve(undefined))
      socket.resume()
    })
    assert.equal(error?.code, 'ECONNRESET', 'a cut-off stream must not look like a complete one')

    let backendSaw!: Promise<string>
    await backendDoing((socket) => {
      backendSaw = new Promise((resolve) => {
        socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'))
        socket.on('end', () => resolve('end'))
      })
    })
    const resetting = client()
    await new Promise((resolve) => resetting.once('connect', resolve))
    await sleep(50)
    resetting.resetAndDestroy()
    assert.equal(await backendSaw, 'ECONNRESET')

    const pid = rig.launcher.pid
    const named = await namedBackend('alive')
    await rig.balancer.sync([table('s', port, [[named, 1]])])
    assert.equal(await whoAnswers(port), 'alive')
    assert.equal(rig.launcher.pid, pid, 'same proxy process throughout')
    await named.close()
  })
})
