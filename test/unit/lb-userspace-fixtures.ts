/**
 * Real pieces for the userspace proxy tests: TCP backends on loopback that say who they are, clients
 * that ask, and a proxy process run by a UserspaceBalancer through the child-process launcher.
 */
import {readFileSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {createConnection, createServer, type Server, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {ServiceTable} from '../../src/lb/balancer.js'
import {ChildProxyLauncher} from '../../src/lb/proxy/child-launcher.js'
import type {ProxyOptions} from '../../src/lb/proxy/config.js'
import {UserspaceBalancer} from '../../src/lb/userspace.js'

export interface NamedBackend {
  name: string
  host: string
  port: number
  server: Server
  close(): Promise<void>
}

/** A backend that greets each connection with `<name>\n` and then echoes what it receives. */
export async function namedBackend(name: string): Promise<NamedBackend> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    socket.write(`${name}\n`)
    socket.pipe(socket)
  })
  const port = await listen(server)
  return {
    name,
    host: '127.0.0.1',
    port,
    server,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

export async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as {port: number}).port
}

/** A loopback port nothing listens on (it was free a moment ago). */
export async function freePort(): Promise<number> {
  const server = createServer()
  const port = await listen(server)
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A client connection held open: who answered it, and a way to talk through it. */
export interface HeldConnection {
  backend: string
  socket: Socket
  /** Sends `text` and resolves with what comes back (the backend echoes). */
  echo(text: string): Promise<string>
  close(): void
}

export async function connectThrough(port: number, timeoutMs = 3_000): Promise<HeldConnection> {
  const socket = createConnection({host: '127.0.0.1', port})
  socket.on('error', () => {})
  let buffered = ''
  let waiter: (() => void) | undefined
  socket.on('data', (chunk) => {
    buffered += chunk.toString()
    waiter?.()
  })
  const take = (predicate: (text: string) => number) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer through port ${port} within ${timeoutMs} ms`)), timeoutMs)
      const check = () => {
        const end = predicate(buffered)
        if (end < 0) return
        clearTimeout(timer)
        waiter = undefined
        const text = buffered.slice(0, end)
        buffered = buffered.slice(end)
        resolve(text)
      }
      waiter = check
      socket.once('close', () => reject(new Error(`connection through port ${port} closed`)))
      check()
    })
  const greeting = await take((text) => (text.includes('\n') ? text.indexOf('\n') + 1 : -1))
  return {
    backend: greeting.trim(),
    socket,
    echo: async (text) => {
      socket.write(text)
      return take((got) => (got.length >= text.length ? text.length : -1))
    },
    close: () => socket.destroy(),
  }
}

/** Which backend answers a new connection to `port`. */
export async function whoAnswers(port: number): Promise<string> {
  const connection = await connectThrough(port)
  connection.close()
  return connection.backend
}

export function table(name: string, port: number, backends: Array<[NamedBackend | number, number]>): ServiceTable {
  return {
    name,
    on: {host: '127.0.0.1', port},
    backends: backends.map(([backend, weight]) => ({host: '127.0.0.1', port: typeof backend === 'number' ? backend : backend.port, weight})),
  }
}

/** Counts reloads, so tests can tell that an unchanged sync signalled nothing. */
export class CountingLauncher extends ChildProxyLauncher {
  reloads = 0
  override async reload(): Promise<void> {
    this.reloads++
    await super.reload()
  }
}

export interface ProxyRig {
  dir: string
  launcher: CountingLauncher
  balancer: UserspaceBalancer
  /** A second Balancer over the same dir and proxy, as a restarted server would make (with other options). */
  newBalancer(options?: Partial<ProxyOptions>): UserspaceBalancer
  close(): Promise<void>
}

/** Two worker threads unless told otherwise, so every proxy test covers the threads' shared state. */
export async function proxyRig(options: Partial<ProxyOptions> = {}): Promise<ProxyRig> {
  const proxy = {workers: 2, ...options}
  const dir = await mkdtemp(join(tmpdir(), 'launcho-proxy-test-'))
  const launcher = new CountingLauncher({LAUNCHO_LOG_LEVEL: 'warn'})
  const newBalancer = (changed: Partial<ProxyOptions> = {}) => new UserspaceBalancer({dir: join(dir, 'proxy'), launcher, proxy: {...proxy, ...changed}})
  return {
    dir: join(dir, 'proxy'),
    launcher,
    balancer: newBalancer(),
    newBalancer,
    close: async () => {
      await launcher.stop()
      await rm(dir, {recursive: true, force: true})
    },
  }
}

/** Resident memory of a process in bytes (from /proc). */
export function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(match![1]) * 1024
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
