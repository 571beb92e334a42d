/**
 * Runs one health check and says what it saw. Knows nothing about instances or thresholds; never
 * throws; always finishes by the check's timeout (or soon after `signal` aborts).
 */
import {request} from 'node:http'
import {connect, type Socket} from 'node:net'
import type {CheckResult, HealthCheck} from './check.js'
import {spawnRunner, type ExecCheck, type ExecRunner} from './exec-runner.js'

export type Probe = (check: HealthCheck, signal?: AbortSignal) => Promise<CheckResult>

/** Instances listen on the port allocated to them; the balancer sends traffic to this address. */
const HOST = '127.0.0.1'
/** Enough of a failing answer's body to say why (`db down`), not enough to flood the status. */
const DETAIL_CHARS = 200

/**
 * HTTP probes end their connection with a reset, not a FIN (HTTP servers take a reset after the
 * response in their stride). A FIN leaves a TIME_WAIT entry for 60 s on whichever side closed
 * first, and a client that reaches the same instance through the balancer's NAT from the same
 * local port then has its SYN answered by that entry, not accepted: it waits a second for the
 * retransmit. A check opens a connection every interval; resets leave nothing behind.
 */
function reset(socket: Socket | null | undefined): void {
  if (socket && !socket.destroyed) socket.resetAndDestroy()
}

export function createProber(runExec: ExecRunner = spawnRunner): Probe {
  return async (check, signal) => {
    const started = Date.now()
    const outcome = await run(check, runExec, signal).catch((error: unknown) => fail(`check crashed: ${String(error)}`))
    const at = Date.now()
    return {...outcome, at, durationMs: at - started}
  }
}

type Outcome = Pick<CheckResult, 'ok' | 'detail'>

const fail = (detail: string): Outcome => ({ok: false, detail})
const timedOut = (check: HealthCheck): Outcome => fail(`timed out after ${check.timeoutMs} ms`)

function run(check: HealthCheck, runExec: ExecRunner, signal?: AbortSignal): Promise<Outcome> {
  if (check.kind === 'http') return http(check, signal)
  if (check.kind === 'tcp') return tcp(check, signal)
  return exec(check, runExec, signal)
}

/**
 * GET on a fresh connection; 2xx is healthy. Redirects are not followed and count as unhealthy: a
 * health path that redirects is almost always the wrong path (`/health` → `/health/`, or a login
 * page), and the detail names where it points so the fix is obvious.
 */
function http(check: Extract<HealthCheck, {kind: 'http'}>, signal?: AbortSignal): Promise<Outcome> {
  return new Promise((resolve) => {
    const started = Date.now()
    let status: {code: number; location?: string} | undefined
    let body = ''
    let settled = false
    let ended = false
    const req = request({
      host: HOST,
      port: check.port,
      path: check.path,
      method: 'GET',
      agent: false,
      headers: {'user-agent': 'launcho-health', connection: 'close'},
      signal,
    })
    // Decided by the status; the body is read only to explain a failure, so ending early is fine.
    const settle = (error?: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      // Once a (failing) answer was read to its end, Node 20's reset never completes and keeps the
      // event loop alive: the connection is closing anyway, so a plain close.
      if (!ended) reset(req.socket)
      req.destroy()
      if (!status) return resolve(fail(error ?? 'no response'))
      const {code, location} = status
      const ms = Date.now() - started
      if (code >= 200 && code < 300) return resolve({ok: true, detail: `HTTP ${code} in ${ms} ms`})
      if (code >= 300 && code < 400) {
        return resolve(fail(`HTTP ${code} in ${ms} ms, redirects to ${location ?? '(no location)'} (not followed)`))
      }
      const why = body.trim().split('\n')[0]?.slice(0, DETAIL_CHARS)
      resolve(fail(`HTTP ${code} in ${ms} ms${why ? `: ${why}` : ''}`))
    }
    const timer = setTimeout(() => settle(timedOut(check).detail), check.timeoutMs)
    req.on('response', (res) => {
      status = {code: res.statusCode ?? 0, location: res.headers.location}
      if (status.code >= 200 && status.code < 300) return settle()
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
        if (body.length >= DETAIL_CHARS) settle()
      })
      res.on('end', () => {
        ended = true
        settle()
      })
    })
    req.on('error', (error) => settle(describeError(error, check)))
    req.end()
  })
}

function tcp(check: Extract<HealthCheck, {kind: 'tcp'}>, signal?: AbortSignal): Promise<Outcome> {
  return new Promise((resolve) => {
    const started = Date.now()
    const socket = connect({host: HOST, port: check.port, signal})
    // A plain close here: a reset on connect makes some TCP servers log (or, in Node without an
    // error handler, crash on) ECONNRESET, and a tcp check is the fallback for such servers.
    const settle = (outcome: Outcome) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(outcome)
    }
    const timer = setTimeout(() => settle(timedOut(check)), check.timeoutMs)
    socket.on('connect', () => settle({ok: true, detail: `connected in ${Date.now() - started} ms`}))
    socket.on('error', (error) => settle(fail(describeError(error, check))))
  })
}

async function exec(check: ExecCheck, runExec: ExecRunner, signal?: AbortSignal): Promise<Outcome> {
  const outcome = await runExec(check, signal)
  if (outcome.error !== undefined) return fail(outcome.error)
  if (outcome.timedOut) return fail(`timed out after ${check.timeoutMs} ms (killed)`)
  const output = outcome.output.split('\n').slice(-3).join(' | ').slice(-DETAIL_CHARS)
  const said = output ? `: ${output}` : ''
  if (outcome.exitCode === 0) return {ok: true, detail: 'exit 0'}
  if (outcome.exitCode === null) return fail(`killed by ${outcome.signal ?? 'a signal'}${said}`)
  return fail(`exit ${outcome.exitCode}${said}`)
}

function describeError(error: NodeJS.ErrnoException, check: HealthCheck): string {
  if (error.name === 'AbortError') return 'cancelled'
  if (error.code === 'ECONNREFUSED') return `connection refused on port ${'port' in check ? check.port : '?'}`
  if (error.code === 'ECONNRESET') return 'connection reset'
  if (error.code?.startsWith('HPE_')) return `not an HTTP response (${error.code})`
  return error.code ?? error.message
}
