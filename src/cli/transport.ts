/**
 * HTTPS to the control API, path by path (the typed calls are src/cli/client.ts). It trusts
 * exactly one certificate, the one in the auth file: operators point `host` at any name or IP,
 * so the hostname is not checked, but the server must present the very certificate that was
 * pasted (SHA-256 fingerprint match). Every failure becomes a LaunchoError that says what to do.
 */
import {X509Certificate} from 'node:crypto'
import type {IncomingMessage} from 'node:http'
import {Agent, request as httpsRequest} from 'node:https'
import type {Readable} from 'node:stream'
import type {PeerCertificate} from 'node:tls'
import {type ErrorCode, LaunchoError} from '../errors.js'
import {VERSION_HEADER} from '../protocol/endpoints.js'
import type {ErrorBody} from '../protocol/errors.js'
import type {ClientAuth} from './client-auth.js'

const REQUEST_TIMEOUT_MS = 30_000
const CONNECT_TIMEOUT_MS = 10_000
const UPLOAD_ANSWER_TIMEOUT_MS = 10 * 60_000
const CERT_MISMATCH = 'ERR_LAUNCHO_CERT_MISMATCH'

// OpenSSL verification failures that, given a single pinned self-signed cert, all mean "this is
// not the certificate from the auth file".
const UNTRUSTED_CERT_CODES = new Set([
  CERT_MISMATCH,
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
])

export type Query = Record<string, string | number | boolean>

interface Exchange {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE'
  path: string
  query?: Query | undefined
  headers?: Record<string, string>
  /** A JSON body, or a stream sent as it is read. */
  json?: unknown
  stream?: Readable
  signal?: AbortSignal | undefined
  /** The longest wait for the response's head after the request's last byte went out. */
  responseTimeoutMs: number
  onProgress?: (sentBytes: number) => void
}

/** A plain node:https client (a general HTTP library cost the CLI a third of its start-up). */
export class HttpTransport {
  // Own agent: pooled TLS sessions are never shared with clients pinned to other certs.
  private readonly agent = new Agent({keepAlive: true})
  private readonly pinned: string
  /** The launcho version the server's last answer named (none from a server before 0.3). */
  serverVersion?: string

  constructor(private readonly auth: ClientAuth) {
    this.pinned = new X509Certificate(auth.cert).fingerprint256
  }

  /** Closes the kept-alive connections, so a process that is done need not wait for the server to. */
  close(): void {
    this.agent.destroy()
  }

  /**
   * A long-lived response (log follow) as chunks. No overall time limit, only on connecting and
   * on the first response; an error response is read and thrown like any other call's.
   */
  async *stream(path: string, opts: {query?: Query; signal?: AbortSignal; method?: 'GET' | 'POST'; json?: unknown} = {}): AsyncGenerator<Buffer> {
    try {
      const response = await this.send({method: opts.method ?? 'GET', path, query: opts.query, json: opts.json, signal: opts.signal, responseTimeoutMs: REQUEST_TIMEOUT_MS})
      if (response.statusCode! >= 400) throw this.fromResponse(response.statusCode!, await bodyText(response))
      for await (const chunk of response) yield chunk as Buffer
    } catch (error) {
      throw this.explain(error)
    }
  }

  /**
   * PUTs a large body (a resource) as a stream, never buffered. No overall time limit, since a big
   * file on a slow link takes what it takes: only on connecting, and on the answer after the last
   * byte (the server fsyncs and verifies first, which can take a while for many gigabytes).
   */
  async upload<T>(
    path: string,
    body: Readable,
    opts: {size?: number; headers?: Record<string, string>; onProgress?: (sentBytes: number) => void} = {},
  ): Promise<T> {
    try {
      const response = await this.send({
        method: 'PUT',
        path,
        stream: body,
        headers: {
          'content-type': 'application/octet-stream',
          ...(opts.size !== undefined ? {'content-length': String(opts.size)} : {}),
          ...opts.headers,
        },
        responseTimeoutMs: UPLOAD_ANSWER_TIMEOUT_MS,
        ...(opts.onProgress ? {onProgress: opts.onProgress} : {}),
      })
      return parseAnswer<T>(response, await bodyText(response))
    } catch (error) {
      throw this.explain(error)
    }
  }

  /** One JSON call; its answer parsed as JSON (undefined for an empty body). */
  async request<T = unknown>(method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, opts: {json?: unknown; query?: Query} = {}): Promise<T> {
    const overall = new AbortController()
    const timer = setTimeout(() => overall.abort(timedOut(`the request took longer than ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS)
    try {
      const response = await this.send({method, path, query: opts.query, json: opts.json, signal: overall.signal, responseTimeoutMs: REQUEST_TIMEOUT_MS})
      return parseAnswer<T>(response, await bodyText(response))
    } catch (error) {
      throw this.explain(overall.signal.aborted ? overall.signal.reason : error)
    } finally {
      clearTimeout(timer)
    }
  }

  /** Sends one request; resolves with the response once its head arrived (any status). */
  private send(exchange: Exchange): Promise<IncomingMessage> {
    const url = new URL(`https://${this.auth.host}${exchange.path}`)
    for (const [key, value] of Object.entries(exchange.query ?? {})) url.searchParams.set(key, String(value))
    const json = exchange.json === undefined ? undefined : Buffer.from(JSON.stringify(exchange.json))
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.auth.token}`,
      'user-agent': 'launcho-cli',
      ...(json ? {'content-type': 'application/json', 'content-length': String(json.length)} : {}),
      ...exchange.headers,
    }
    return new Promise((resolve, reject) => {
      const request = httpsRequest(url, {
        method: exchange.method,
        headers,
        agent: this.agent,
        ca: this.auth.cert,
        rejectUnauthorized: true,
        checkServerIdentity: (_hostname: string, cert: PeerCertificate) => {
          if (cert.fingerprint256 === this.pinned) return undefined
          return Object.assign(new Error(`certificate fingerprint ${cert.fingerprint256} is not the pinned ${this.pinned}`), {code: CERT_MISMATCH})
        },
        ...(exchange.signal ? {signal: exchange.signal} : {}),
      })
      let timer: NodeJS.Timeout | undefined
      let answered = false
      const limit = (ms: number, what: string) => {
        clearTimeout(timer)
        // Unref'd: the socket keeps the CLI alive while it waits; a timer must never keep it after.
        timer = setTimeout(() => request.destroy(timedOut(what)), ms).unref()
      }
      limit(CONNECT_TIMEOUT_MS, `no TLS connection within ${CONNECT_TIMEOUT_MS} ms`)
      request.once('socket', (socket) => {
        if (request.reusedSocket) clearTimeout(timer)
        else socket.once('secureConnect', () => clearTimeout(timer))
      })
      // A server may answer before the body is all sent (an upload refused at once).
      request.once('finish', () => answered || limit(exchange.responseTimeoutMs, `no answer within ${exchange.responseTimeoutMs} ms`))
      request.once('response', (response) => {
        answered = true
        const version = response.headers[VERSION_HEADER]
        this.serverVersion = typeof version === 'string' ? version : undefined
        clearTimeout(timer)
        resolve(response)
      })
      request.once('close', () => clearTimeout(timer))
      // `on`: a refused upload can fail again (EPIPE) after the first error or the answer.
      request.on('error', (error) => {
        clearTimeout(timer)
        exchange.stream?.destroy()
        reject(error)
      })
      if (!exchange.stream) return void request.end(json)
      let sent = 0
      exchange.stream.on('error', (error) => request.destroy(error))
      if (exchange.onProgress) {
        const onProgress = exchange.onProgress
        exchange.stream.on('data', (chunk: Buffer) => onProgress((sent += chunk.length)))
      }
      exchange.stream.pipe(request)
    })
  }

  /** Turns any failure of a call into a LaunchoError that says what happened and what to do. */
  private explain(error: unknown): LaunchoError {
    if (error instanceof LaunchoError) return error
    const {host, path} = this.auth
    if (error instanceof HttpStatusError) return this.fromResponse(error.status, error.body)
    if (error instanceof SyntaxError) {
      return new LaunchoError('internal', `the server at ${host} sent a response that is not JSON`, {hint: 'check that host in the auth file points at a launcho server', cause: error})
    }
    const code = (error as NodeJS.ErrnoException | undefined)?.code ?? ''
    const reprint = `run "launcho print-auth --host ${host}" on the server and save its output to ${path}`
    if (UNTRUSTED_CERT_CODES.has(code)) {
      return new LaunchoError('unauthorized', `the server at ${host} presented a certificate that is not the one in ${path}`, {
        hint: `if the server was reinstalled or its identity regenerated, ${reprint}; otherwise something else is answering at ${host}`,
        cause: error,
      })
    }
    if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
      return new LaunchoError('unauthorized', `the certificate of the server at ${host} is outside its validity period`, {
        hint: `check the clock on this machine and on the server; if the certificate really expired, regenerate the server identity and ${reprint}`,
        cause: error,
      })
    }
    return transportError(code, host, path, error)
  }

  private fromResponse(status: number, text: string): LaunchoError {
    const {host, path} = this.auth
    const body = parseErrorBody(text)
    if (status === 401) {
      return new LaunchoError('unauthorized', `the server refused the token in ${path}${body ? ` (${body.message})` : ''}`, {
        hint: `run "launcho print-auth --host ${host}" on the server and save its output to ${path}`,
      })
    }
    if (body) return new LaunchoError(knownCode(body.code, status), body.message, {hint: body.hint, problems: body.problems})
    return new LaunchoError(codeForStatus(status), `the server at ${host} answered HTTP ${status}`, {
      hint: 'check that host in the auth file points at a launcho server, and see its log (journalctl -u launcho)',
    })
  }
}

/**
 * The server's `{error: {…}}`, or undefined when the body is not one (not JSON, another server).
 * Checked by hand like the protocol's error schema would (zod stays out of the CLI's start-up).
 */
function parseErrorBody(text: string): ErrorBody | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return undefined
  }
  const error = (parsed as {error?: unknown} | null)?.error as Record<string, unknown> | undefined
  if (typeof error !== 'object' || error === null || typeof error.code !== 'string' || typeof error.message !== 'string') return undefined
  if (error.hint !== undefined && typeof error.hint !== 'string') return undefined
  if (error.problems !== undefined && !(Array.isArray(error.problems) && error.problems.every(isProblem))) return undefined
  const problems = (error.problems as Array<Record<string, unknown>> | undefined)?.map((problem) =>
    Object.fromEntries(['line', 'column', 'field', 'message'].filter((key) => problem[key] !== undefined).map((key) => [key, problem[key]])),
  )
  return {code: error.code, message: error.message, ...(error.hint !== undefined ? {hint: error.hint as string} : {}), ...(problems ? {problems: problems as ErrorBody['problems']} : {})}
}

function isProblem(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  const {field, line, column, message} = value as Record<string, unknown>
  return typeof message === 'string' && (field === undefined || typeof field === 'string') && (line === undefined || Number.isInteger(line)) && (column === undefined || Number.isInteger(column))
}

/** A newer server may send a code this CLI does not know; fall back to one matching the status. */
function knownCode(code: string, status: number): ErrorCode {
  return new LaunchoError(code as ErrorCode, '').status === undefined ? codeForStatus(status) : (code as ErrorCode)
}

function codeForStatus(status: number): ErrorCode {
  const byStatus: Record<number, ErrorCode> = {400: 'invalid_request', 401: 'unauthorized', 404: 'not_found', 409: 'conflict', 413: 'payload_too_large', 422: 'invalid_request'}
  return byStatus[status] ?? 'internal'
}

function transportError(code: string, host: string, path: string, cause: unknown): LaunchoError {
  const fix = `fix host in ${path} if the server lives elsewhere`
  const hostname = host.slice(0, host.lastIndexOf(':')).replace(/^\[|\]$/g, '')
  switch (code) {
    case 'ECONNREFUSED':
      return new LaunchoError('unreachable', `no launcho server is listening at ${host}`, {
        hint: `start it on the server ("systemctl start launcho" or "launcho server"), check that its port is open, or ${fix}`,
        cause,
      })
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new LaunchoError('unreachable', `cannot resolve the host name ${hostname}`, {hint: `check your DNS, or ${fix}`, cause})
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new LaunchoError('unreachable', `the server at ${host} did not answer in time`, {
        hint: `check the network path and firewall to ${host}, or ${fix}`,
        cause,
      })
    case 'ECONNRESET':
    case 'EPROTO':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return new LaunchoError('unreachable', `the connection to ${host} failed during the TLS handshake or request (${code})`, {
        hint: `check that ${host} is the launcho API port (it speaks HTTPS), or ${fix}`,
        cause,
      })
    default:
      return new LaunchoError('unreachable', `request to ${host} failed: ${(cause as Error)?.message ?? String(cause)}`, {
        hint: `check that the launcho server is running and reachable, or ${fix}`,
        cause,
      })
  }
}

/** A response outside 2xx, with its body for the error it becomes. */
class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`HTTP ${status}`)
  }
}

function timedOut(what: string): Error {
  return Object.assign(new Error(what), {code: 'ETIMEDOUT'})
}

async function bodyText(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of response) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function parseAnswer<T>(response: IncomingMessage, text: string): T {
  if (response.statusCode! < 200 || response.statusCode! > 299) throw new HttpStatusError(response.statusCode!, text)
  return (text === '' ? undefined : JSON.parse(text)) as T
}
