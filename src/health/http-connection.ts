/**
 * The connection an instance's HTTP checks share, so that checking leaves nothing behind: no
 * error in the app's log and no TIME_WAIT entry per check.
 *
 * A TCP connection ends cleanly with FINs, and whichever side sends the first FIN keeps a TIME_WAIT
 * entry for 60 s. One on the app's side is the harmful kind: a client that reaches the instance
 * through the balancer's NAT from the same local port has its SYN answered by that entry and waits
 * a second for the retransmit. A reset leaves no entry, but a reset while the app is still writing
 * its answer makes it log an error (Python's http.server a traceback). So:
 *
 * - one kept-alive connection per instance: checks reuse it, and a healthy app sees one
 *   connection for as long as it is watched;
 * - a connection ends only once the app has finished with it: it answered HTTP/1.0 or
 *   `Connection: close`, or it closed an idle connection. We answer that with a reset, not a
 *   second FIN. (And we reset one we give up on: a check that timed out.)
 * - `close()` (the instance is no longer watched) ends an idle connection with a FIN of ours,
 *   since a reset could make an app idle on it log: one TIME_WAIT entry, ours, per instance. A
 *   connection with a check on it is ended so once that check has its answer.
 */
import {Agent, type ClientRequest, type ClientRequestArgs} from 'node:http'
import {Socket} from 'node:net'
import type {Duplex} from 'node:stream'

/**
 * Node's HTTP client and agent end a connection with `destroy()` or `destroySoon()`: a FIN of
 * ours. Once the app has finished with the connection that is a reset instead.
 */
class CheckSocket extends Socket {
  /** In the agent's pool between checks. */
  idle = false
  /** The app closed the connection, or its answer said it would. */
  private appDone = false
  private resetting = false

  constructor() {
    super()
    // Registered before Node's own end handler, which destroys the socket.
    this.once('end', () => (this.appDone = true))
  }

  override destroy(error?: Error): this {
    // Read on an idle connection (Node's pool destroys it then): the app closed it, or spoke out of turn.
    if (!error && (this.appDone || this.idle)) return this.reset()
    return super.destroy(error)
  }

  override destroySoon(): void {
    this.appDone = true
    this.destroy()
  }

  reset(): this {
    // Nothing to reset while still connecting. With our FIN on its way a reset fails (EINVAL) and
    // the socket would never emit 'close', so never leave the agent: the connection would be stuck.
    if (this.resetting || this.destroyed || this.connecting || this.writableEnded) return super.destroy()
    this.resetting = true
    return this.resetAndDestroy()
  }

  /** A FIN of ours: the app may be waiting on the connection for the next request. */
  finish(): void {
    super.destroy()
  }
}

/** Gives a connection up: a reset, so nothing of it is left on either side. */
export function resetConnection(socket: Socket | null | undefined): void {
  if (socket instanceof CheckSocket) socket.reset()
  else if (socket && !socket.destroyed) socket.resetAndDestroy()
}

class CheckAgent extends Agent {
  /** No longer watched: a connection that comes back from a check is ended, not kept. */
  closing = false

  override createConnection(options: ClientRequestArgs): Duplex {
    return new CheckSocket().connect({host: options.host ?? '127.0.0.1', port: Number(options.port)})
  }

  /**
   * Kept until the app ends it. Node would close an idle connection a second before the app's
   * `Keep-Alive: timeout=N` hint, a FIN of ours and a TIME_WAIT per check for an interval longer
   * than N; a check that meets the app's close instead is retried on a fresh connection.
   */
  override keepSocketAlive(socket: Duplex): boolean {
    if (this.closing && socket instanceof CheckSocket) {
      socket.finish()
      return false
    }
    if (socket instanceof CheckSocket) socket.idle = true
    ;(socket as Socket).unref()
    return true
  }

  override reuseSocket(socket: Duplex, request: ClientRequest): void {
    if (socket instanceof CheckSocket) socket.idle = false
    super.reuseSocket(socket, request)
  }
}

export class HttpConnection {
  readonly agent: Agent
  /** Whether checks ask to keep the connection (false: a one-off check, `Connection: close`). */
  readonly keepAlive: boolean

  constructor(options: {keepAlive?: boolean} = {}) {
    this.keepAlive = options.keepAlive ?? true
    this.agent = this.keepAlive ? new CheckAgent({keepAlive: true, maxSockets: 1, maxFreeSockets: 1}) : new CheckAgent()
  }

  /** Ends the connection: an idle one now, one with a check on it once that check has its answer. */
  close(): void {
    if (this.agent instanceof CheckAgent) this.agent.closing = true
    for (const sockets of Object.values(this.agent.freeSockets)) {
      for (const socket of sockets ?? []) if (socket instanceof CheckSocket) socket.finish()
    }
    const inUse = Object.values(this.agent.sockets).some((sockets) => (sockets?.length ?? 0) > 0)
    if (!inUse) this.agent.destroy()
  }
}
