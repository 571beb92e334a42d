import assert from 'node:assert/strict'
import {Agent, request} from 'node:https'
import {connect as netConnect, type Socket} from 'node:net'
import {connect as tlsConnect} from 'node:tls'
import {after, before, describe, it} from 'node:test'
import type {ServerAuth} from '../../src/api/server-auth.js'
import {startTestApiServer, type TestApiServer} from '../helpers/test-api-server.js'

const HEADERS_MS = 600
const KEEP_ALIVE_MS = 300
const MAX_WAITING = 8

describe('API connections', () => {
  let auth: ServerAuth
  let api: TestApiServer
  let port: number

  before(async () => {
    api = await startTestApiServer('api-connections', () => {}, {timeouts: {headersMs: HEADERS_MS, keepAliveMs: KEEP_ALIVE_MS}, maxWaitingConnections: MAX_WAITING})
    auth = api.auth
    port = api.port
  })
  after(async () => api?.close())

  /** Resolves with ms from now until the server closes the socket (or `giveUpMs`, then null). */
  const closedAfter = (socket: Socket, giveUpMs = 5_000) =>
    new Promise<number | null>((resolve) => {
      const started = Date.now()
      const timer = setTimeout(() => {
        socket.destroy()
        resolve(null)
      }, giveUpMs)
      socket.on('error', () => {})
      // Read whatever the server sends (a 408), so its close is seen as soon as it happens.
      socket.resume()
      socket.once('close', () => {
        clearTimeout(timer)
        resolve(Date.now() - started)
      })
    })
  const tls = (first?: string) => {
    const socket = tlsConnect({host: '127.0.0.1', port, rejectUnauthorized: false})
    if (first !== undefined) socket.once('secureConnect', () => socket.write(first))
    return socket
  }
  const ping = (agent: Agent | false = false) =>
    new Promise<number>((resolve, reject) => {
      const req = request({host: '127.0.0.1', port, path: '/v1/ping', ca: auth.cert, checkServerIdentity: () => undefined, agent, headers: {authorization: `Bearer ${auth.token}`}}, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode!))
      })
      req.on('error', reject)
      req.end()
    })

  it('closes connections that finish TLS and then send nothing, or half a header line, by the headers timeout', async () => {
    const silent = Array.from({length: 3}, () => closedAfter(tls()))
    const half = Array.from({length: 3}, () => closedAfter(tls('GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-Half: ab')))
    assert.equal(await ping(), 200, 'a normal request is answered meanwhile')
    for (const ms of await Promise.all([...silent, ...half])) {
      assert.ok(ms !== null && ms >= HEADERS_MS - 100 && ms <= HEADERS_MS + 1_000, `closed after ${ms} ms`)
    }
  })

  it(`holds at most ${MAX_WAITING} connections without a request, closing the oldest, and still answers a new client`, async () => {
    const sockets = Array.from({length: 3 * MAX_WAITING}, () => netConnect({host: '127.0.0.1', port}))
    const closed = sockets.map((socket) => closedAfter(socket, 5_000))
    await Promise.all(sockets.map((socket) => new Promise((resolve) => socket.once('connect', resolve))))
    await new Promise((resolve) => setTimeout(resolve, 50))
    const waiting = api.server.connections?.waiting()
    assert.equal(await ping(), 200)
    const times = await Promise.all(closed)
    const early = times.filter((ms) => ms !== null && ms < HEADERS_MS - 100)
    assert.ok(early.length >= 2 * MAX_WAITING, `only ${early.length} of ${times.length} closed at once to make room`)
    assert.ok(waiting !== undefined && waiting <= MAX_WAITING, `${waiting} waiting`)
    assert.ok(times.every((ms) => ms !== null && ms <= HEADERS_MS + 1_000), `all closed by the headers timeout: ${times.join(', ')}`)
  })

  it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const agent = new Agent({keepAlive: true, maxSockets: 1})
    let socket: Socket | undefined
    const gotSocket = new Promise<void>((resolve) => {
      agent.once('free', (s: Socket) => {
        socket = s
        resolve()
      })
    })
    assert.equal(await ping(agent), 200)
    await gotSocket
    const ms = await closedAfter(socket!, 5_000)
    agent.destroy()
    assert.ok(ms !== null && ms <= KEEP_ALIVE_MS + 1_000, `idle keep-alive connection closed after ${ms} ms`)
  })
})
