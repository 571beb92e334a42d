/**
 * One HTTP check: GET on the instance's connection (http-connection.ts); 2xx is healthy.
 * Redirects are not followed and count as unhealthy: a health path that redirects is almost always
 * the wrong path (`/health` → `/health/`, or a login page), and the detail names where it points.
 */
import {afterPendingIo} from './pending-io.js'
import {request, type ClientRequest, type IncomingMessage} from 'node:http'
import type {CheckResult, HealthCheck} from './check.js'
import {HttpConnection, resetConnection} from './http-connection.js'
import {describeError} from './network-error.js'

export type HttpCheck = Extract<HealthCheck, {kind: 'http'}>
type Outcome = Pick<CheckResult, 'ok' | 'detail'>

/** Instances listen on the port allocated to them; the balancer sends traffic to this address. */
const HOST = '127.0.0.1'
/** Enough of a failing answer's body to say why (`db down`), not enough to flood the status. */
const DETAIL_CHARS = 200
/** A body read to its end keeps the connection usable; one longer than this is not worth reading. */
const MAX_BODY_BYTES = 1024 * 1024

/**
 * Without `connection`, a one-off check (`Connection: close`, the app closes, we reset). With it,
 * the kept connection; a check that meets the app closing it just then is retried once on a fresh
 * one, within the same timeout.
 */
export async function httpProbe(check: HttpCheck, signal?: AbortSignal, connection?: HttpConnection): Promise<Outcome> {
  const via = connection ?? new HttpConnection({keepAlive: false})
  const deadline = Date.now() + check.timeoutMs
  const first = await exchange(check, via, deadline, signal)
  if (!first.staleConnection || Date.now() >= deadline) return first
  return exchange(check, via, deadline, signal)
}

interface Exchange extends Outcome {
  /** It failed on a reused connection before any answer: the app had closed it. */
  staleConnection?: boolean
}

/**
 * Decided by the status (and, for a failure, the start of the body); the rest of the body is read
 * in the background so the connection can be reused, until the timeout at the latest.
 */
function exchange(check: HttpCheck, via: HttpConnection, deadline: number, signal?: AbortSignal): Promise<Exchange> {
  return new Promise((resolve) => {
    const started = Date.now()
    let settled = false
    const settle = (outcome: Exchange) => {
      if (settled) return
      settled = true
      resolve(outcome)
    }
    const req = request({
      host: HOST,
      port: check.port,
      path: check.path,
      method: 'GET',
      agent: via.agent,
      headers: {'user-agent': 'launcho-health', ...(via.keepAlive ? {} : {connection: 'close'})},
      signal,
    })
    // Past the timeout the connection is given up (reset): its state is unknown. The verdict waits
    // for I/O already pending (afterPendingIo): an answer that came while launcho was busy counts.
    const timer = setTimeout(() => {
      afterPendingIo(() => {
        abandon(req)
        settle({ok: false, detail: `timed out after ${check.timeoutMs} ms`})
      })
    }, Math.max(0, deadline - Date.now()))
    // It only guards a connection: a check still running keeps the process alive by its socket.
    timer.unref()
    let answered = false
    req.on('response', (res) => {
      answered = true
      const verdict = (body: string) => describe(res, Date.now() - started, body)
      if (isSuccess(res)) settle(verdict(''))
      readBody(req, res, {
        onDetail: (body) => settle(verdict(body)),
        onDone: () => clearTimeout(timer),
      })
    })
    req.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      const stale = req.reusedSocket && !answered && error.name !== 'AbortError'
      settle({ok: false, detail: describeError(error, check), ...(stale ? {staleConnection: true} : {})})
    })
    req.end()
  })
}

/** Reads the body to its end: `onDetail` with its start once known, `onDone` when the exchange is over. */
function readBody(req: ClientRequest, res: IncomingMessage, on: {onDetail: (body: string) => void; onDone: () => void}): void {
  let body = ''
  let bytes = 0
  res.setEncoding('utf8')
  res.on('data', (chunk: string) => {
    bytes += Buffer.byteLength(chunk)
    if (body.length < DETAIL_CHARS) body += chunk
    if (body.length >= DETAIL_CHARS) on.onDetail(body)
    if (bytes > MAX_BODY_BYTES) {
      on.onDone()
      abandon(req)
    }
  })
  res.on('end', () => {
    on.onDone()
    on.onDetail(body)
  })
  res.on('error', () => {
    on.onDone()
    on.onDetail(body)
  })
}

/** Gives the connection up (a timeout, a body too long to read). */
function abandon(req: ClientRequest): void {
  resetConnection(req.socket)
  req.destroy()
}

const isSuccess = (res: IncomingMessage) => (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300

function describe(res: IncomingMessage, ms: number, body: string): Outcome {
  const code = res.statusCode ?? 0
  if (isSuccess(res)) return {ok: true, detail: `HTTP ${code} in ${ms} ms`}
  if (code >= 300 && code < 400) {
    return {ok: false, detail: `HTTP ${code} in ${ms} ms, redirects to ${res.headers.location ?? '(no location)'} (not followed)`}
  }
  const why = body.trim().split('\n')[0]?.slice(0, DETAIL_CHARS)
  return {ok: false, detail: `HTTP ${code} in ${ms} ms${why ? `: ${why}` : ''}`}
}
