/**
 * Runs one health check and says what it saw. Knows nothing about instances or thresholds; never
 * throws; always finishes by the check's timeout (or soon after `signal` aborts).
 */
import {afterPendingIo} from './pending-io.js'
import {connect} from 'node:net'
import type {CheckResult, HealthCheck} from './check.js'
import {spawnRunner, type ExecCheck, type ExecRunner} from './exec-runner.js'
import type {HttpConnection} from './http-connection.js'
import {httpProbe} from './http-probe.js'
import {describeError} from './network-error.js'

/**
 * `connection`: the instance's kept HTTP connection (the monitor's, one per watched instance);
 * without it an HTTP check uses a connection of its own.
 */
export type Probe = (check: HealthCheck, signal?: AbortSignal, connection?: HttpConnection) => Promise<CheckResult>

/** Instances listen on the port allocated to them. */
const HOST = '127.0.0.1'
/** Enough of a failing check's output to say why, not enough to flood the status. */
const DETAIL_CHARS = 200

export function createProber(runExec: ExecRunner = spawnRunner): Probe {
  return async (check, signal, connection) => {
    const started = Date.now()
    const outcome = await run(check, runExec, signal, connection).catch((error: unknown) => fail(`check crashed: ${String(error)}`))
    const at = Date.now()
    return {...outcome, at, durationMs: at - started}
  }
}

type Outcome = Pick<CheckResult, 'ok' | 'detail'>

const fail = (detail: string): Outcome => ({ok: false, detail})
const timedOut = (check: HealthCheck): Outcome => fail(`timed out after ${check.timeoutMs} ms`)

function run(check: HealthCheck, runExec: ExecRunner, signal?: AbortSignal, connection?: HttpConnection): Promise<Outcome> {
  if (check.kind === 'http') return httpProbe(check, signal, connection)
  if (check.kind === 'tcp') return tcp(check, signal)
  return exec(check, runExec, signal)
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
    const timer = setTimeout(() => afterPendingIo(() => settle(timedOut(check))), check.timeoutMs)
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
