/**
 * One client connection: connect to a backend (trying the next candidate when one refuses or does
 * not answer in time), then relay bytes both ways. Each direction is its own pipe, so a FIN from
 * one side is passed on as a FIN while the other direction keeps flowing (half-close), and a
 * full writer pauses its reader (backpressure: at most a socket buffer per direction in memory).
 */
import {connect, type Socket} from 'node:net'
import type {Target} from './picker.js'

export interface RelayOptions {
  connectTimeoutMs: number
  idleTimeoutMs: number
}

/** Told about each backend connection, for the per-backend counts. */
export interface RelayTracker {
  opened(key: string): void
  closed(key: string): void
  /** A connect attempt that failed (refused, timed out, unreachable). */
  failed(key: string, error: Error): void
}

/** `client` must be paused (server `pauseOnConnect`) so nothing is read before a backend is there. */
export function relay(client: Socket, candidates: Target[], options: RelayOptions, tracker: RelayTracker): void {
  let upstream: Socket | undefined
  // Until a backend is connected, a client error just ends the attempt chain.
  const onEarlyClientError = () => {
    upstream?.destroy()
    client.destroy()
  }
  client.on('error', onEarlyClientError)

  const attempt = (index: number): void => {
    if (client.destroyed) return
    const target = candidates[index]
    if (!target) {
      // No backend (or none that answered): refuse at once so the client can fail over or retry.
      client.resetAndDestroy()
      return
    }
    const socket = connect({host: target.host, port: target.port, allowHalfOpen: true, noDelay: true})
    upstream = socket
    const timer = setTimeout(() => socket.destroy(new Error(`connect timed out after ${options.connectTimeoutMs} ms`)), options.connectTimeoutMs)
    const onConnectError = (error: Error) => {
      clearTimeout(timer)
      socket.destroy()
      tracker.failed(target.key, error)
      attempt(index + 1)
    }
    socket.once('error', onConnectError)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.off('error', onConnectError)
      client.off('error', onEarlyClientError)
      tracker.opened(target.key)
      socket.once('close', () => tracker.closed(target.key))
      splice(client, socket, options.idleTimeoutMs)
    })
  }
  attempt(0)
}

function splice(client: Socket, upstream: Socket, idleTimeoutMs: number): void {
  forward(client, upstream)
  forward(upstream, client)
  // pauseOnConnect left the client paused at the handle; a 'data' listener alone does not resume it.
  client.resume()
  // A reset on one side becomes a reset on the other, so a cut-off response never looks complete.
  const fail = (from: Socket, to: Socket) => (error: NodeJS.ErrnoException) => {
    if (error.code === 'ECONNRESET' && !to.destroyed) to.resetAndDestroy()
    else to.destroy()
    from.destroy()
  }
  client.on('error', fail(client, upstream))
  upstream.on('error', fail(upstream, client))
  // No "close → destroy the other": a socket closes normally once both its directions ended, and
  // the other socket may still be flushing the last bytes it was handed.
  if (idleTimeoutMs > 0) {
    // The client socket sees both directions' traffic (its reads and its writes).
    client.setTimeout(idleTimeoutMs, () => {
      client.destroy()
      upstream.destroy()
    })
  }
}

/**
 * One direction, as pipe() would do it but with fewer listeners to add and remove per connection
 * (that bookkeeping is a good part of a short connection's cost): a full writer pauses the reader
 * until it drains, and the reader's FIN becomes the writer's FIN (allowHalfOpen on both sockets,
 * so the other direction stays open: a half-close).
 */
function forward(from: Socket, to: Socket): void {
  from.on('data', (chunk: Buffer) => {
    if (!to.write(chunk)) from.pause()
  })
  to.on('drain', () => from.resume())
  from.on('end', () => to.end())
}
