/**
 * Bounds connections that have not delivered a complete first request yet: each must do so within
 * `firstRequestMs` of being accepted (TLS handshake and headers), and at most `maxWaiting` are held
 * at once: the oldest is closed to make room for a new one, so a flood cannot lock out a client
 * that connects now, nor use up the server's file descriptors. Node's own `headersTimeout` only
 * runs once a request has started, so a client that finishes TLS and then says nothing, or stops
 * halfway through a header line, would otherwise keep its socket for ever. After the first request
 * a connection is an authenticated one (a request without the token is answered 401 and closed),
 * and Node's keep-alive and request timeouts take over.
 */
import type {Server, Socket} from 'node:net'
import type {Logger} from 'pino'

export interface ConnectionGuardOptions {
  firstRequestMs: number
  maxWaiting: number
  logger: Logger
  /** Minimum time between two warnings about closed connections. */
  warnEveryMs?: number
}

export interface ConnectionGuard {
  /** Connections accepted whose first request has not arrived yet. */
  waiting(): number
}

export function guardConnections(server: Server, options: ConnectionGuardOptions): ConnectionGuard {
  // Keyed by the peer's address: the request's TLS socket reports the same one as the raw socket.
  const waiting = new Map<string, {socket: Socket; timer: NodeJS.Timeout}>()
  const closed = {silent: 0, evicted: 0}
  let lastWarning = Number.NEGATIVE_INFINITY
  const warnEveryMs = options.warnEveryMs ?? 60_000

  const release = (key: string, socket?: Socket) => {
    const entry = waiting.get(key)
    if (!entry || (socket !== undefined && entry.socket !== socket)) return undefined
    clearTimeout(entry.timer)
    waiting.delete(key)
    return entry
  }
  const report = () => {
    if (Date.now() - lastWarning < warnEveryMs) return
    lastWarning = Date.now()
    options.logger.warn(
      {closedSilent: closed.silent, closedToMakeRoom: closed.evicted, waiting: waiting.size, firstRequestMs: options.firstRequestMs, maxWaiting: options.maxWaiting},
      'closed connections that sent no complete request in time (counts since the last such warning)',
    )
    closed.silent = 0
    closed.evicted = 0
  }

  server.on('connection', (socket: Socket) => {
    if (socket.remoteAddress === undefined) {
      socket.destroy()
      return
    }
    const key = peerKey(socket)
    if (waiting.size >= options.maxWaiting) {
      const oldest = waiting.keys().next().value as string
      release(oldest)?.socket.destroy()
      closed.evicted++
      report()
    }
    const timer = setTimeout(() => {
      release(key)
      socket.destroy()
      closed.silent++
      report()
    }, options.firstRequestMs)
    timer.unref()
    waiting.set(key, {socket, timer})
    socket.once('close', () => release(key, socket))
  })
  server.on('request', (request: {socket: Socket}) => {
    release(peerKey(request.socket))
  })
  return {waiting: () => waiting.size}
}

function peerKey(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`
}
