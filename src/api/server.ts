/**
 * The control API shell: fastify over TLS with the server's self-signed certificate, a bearer
 * token on every route, one error shape (`{error: {code, message, hint?, problems?}}`) and
 * bounded timeouts. Routes are added by the caller through `register`.
 */
import type {AddressInfo} from 'node:net'
import Fastify, {type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest} from 'fastify'
import type {Logger} from 'pino'
import {LaunchoError, type Problem} from '../errors.js'
import {packageVersion} from '../package-version.js'
import {VERSION_HEADER} from '../protocol/endpoints.js'
import {guardConnections, type ConnectionGuard} from './connection-guard.js'
import type {ServerAuth} from './server-auth.js'
import {bearerToken, tokenMatches} from './token.js'

export const DEFAULT_BODY_LIMIT = 2 * 1024 * 1024
/** Connections accepted but without a complete first request (not yet authenticated) held at once. */
export const DEFAULT_MAX_WAITING_CONNECTIONS = 256

// TLS 1.3 suites first, then TLS 1.2 forward-secret AEAD suites only (no CBC, no static RSA).
const CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':')

/** Bounded so a slow or stalled client cannot hold a connection forever. */
export interface ApiTimeouts {
  /** Whole request (headers + body) must arrive within this; responses may stream for longer. */
  requestMs: number
  /** From accepting a connection to its first request's complete headers (TLS handshake included); then per request. */
  headersMs: number
  /** Idle keep-alive connection between requests. */
  keepAliveMs: number
  /** Socket with no traffic either way; streaming routes call `allowIdleStream`. */
  idleMs: number
  /** On close, in-flight requests get this long before their connections are cut. */
  closeGraceMs: number
}

const DEFAULT_TIMEOUTS: ApiTimeouts = {requestMs: 30_000, headersMs: 10_000, keepAliveMs: 5_000, idleMs: 120_000, closeGraceMs: 5_000}

export interface ApiServerOptions {
  auth: ServerAuth
  logger: Logger
  register: (app: FastifyInstance) => void | Promise<void>
  bodyLimit?: number
  timeouts?: Partial<ApiTimeouts>
  maxWaitingConnections?: number
}

export interface ApiServer {
  app: FastifyInstance
  connections: ConnectionGuard
  listen(host: string, port: number): Promise<{port: number}>
  close(): Promise<void>
}

export async function createApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const timeouts = {...DEFAULT_TIMEOUTS, ...options.timeouts}
  const logger = options.logger.child(
    {component: 'api'},
    {
      redact: {paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token'], censor: '[redacted]'},
      serializers: {req: requestForLog},
    },
  )
  const app = Fastify({
    https: {
      key: options.auth.key,
      cert: options.auth.cert,
      minVersion: 'TLSv1.2',
      ciphers: CIPHERS,
      honorCipherOrder: true,
      // Node enforces headersTimeout/requestTimeout only when it sweeps connections (default every
      // 30 s), so a slow client could hold a socket for up to 40 s instead of 10 s.
      connectionsCheckingInterval: 1_000,
      // A client that connects and never says hello is cut like one that never sends headers.
      handshakeTimeout: timeouts.headersMs,
    },
    loggerInstance: logger,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionTimeout: timeouts.idleMs,
    // Request ids are ours; a client-supplied header must not end up in the logs as one.
    requestIdHeader: false,
    trustProxy: false,
    // Above fastify's 100, which made a valid 101–128 character secret name "no such API route":
    // a long name or id reaches its route, whose check says what is wrong with it.
    routerOptions: {maxParamLength: 1024},
    frameworkErrors: (error, request, reply) => answerFrameworkError(error, request as FastifyRequest, reply as FastifyReply, options.auth.token),
  }) as unknown as FastifyInstance
  app.server.headersTimeout = timeouts.headersMs
  const connections = guardConnections(app.server, {
    firstRequestMs: timeouts.headersMs,
    maxWaiting: options.maxWaitingConnections ?? DEFAULT_MAX_WAITING_CONNECTIONS,
    logger,
  })

  // JSON bodies must be UTF-8 (RFC 8259). Fastify's own parser decodes with replacement, so a
  // secret or target with other bytes would be stored silently changed; refuse it instead.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  const utf8 = new TextDecoder('utf-8', {fatal: true})
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', {parseAs: 'buffer'}, (request, body, done) => {
    let text: string
    try {
      text = utf8.decode(body as Buffer)
    } catch {
      done(new LaunchoError('invalid_request', 'the request body is not valid UTF-8', {hint: 'send JSON encoded as UTF-8; binary values must be encoded (e.g. base64) first'}), undefined)
      return
    }
    parseJson(request, text, done)
  })

  // On the raw response, so that streams written past fastify (hijacked replies) carry it too:
  // a CLI of the same version takes the answers as typed (src/cli/client.ts).
  const version = packageVersion()
  app.addHook('onRequest', async (_request, reply) => void reply.raw.setHeader(VERSION_HEADER, version))
  app.addHook('onRequest', async (request, reply) => refuseWithoutToken(request, reply, options.auth.token))

  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const {status, body} = errorReply(error)
    if (status >= 500 && !(error instanceof LaunchoError)) request.log.error({err: error}, 'request failed')
    else if (status >= 500) request.log.error({code: body.code, msg: body.message}, 'request failed')
    return reply.code(status).send({error: body})
  })

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]
    return reply.code(404).send({
      error: {code: 'not_found', message: `no such API route: ${request.method} ${path}`, hint: 'check that the launcho CLI and server versions match (GET /v1/ping shows the server version)'},
    })
  })

  app.get('/v1/ping', async () => ({ok: true, version}))

  await options.register(app)

  return {
    app,
    connections,
    async listen(host, port) {
      await app.listen({host, port})
      return {port: (app.server.address() as AddressInfo).port}
    },
    async close() {
      const cut = setTimeout(() => app.server.closeAllConnections(), timeouts.closeGraceMs)
      cut.unref()
      try {
        await app.close()
      } finally {
        clearTimeout(cut)
      }
    },
  }
}

/** Query parameters the API reads; their values are safe to log. */
const LOGGED_QUERY_PARAMS = new Set(['events', 'lines', 'since', 'follow', 'allVersions', 'limit'])

/**
 * A request as the log shows it. A client may put anything in a query string (a token, by
 * mistake), so only the parameters the API reads are kept; the others are counted, not shown.
 */
function requestForLog(request: FastifyRequest) {
  const url = String(request.url ?? '')
  const at = url.indexOf('?')
  const kept: string[] = []
  let omitted = 0
  if (at >= 0) {
    for (const pair of url.slice(at + 1).split('&')) {
      if (LOGGED_QUERY_PARAMS.has(pair.split('=')[0] ?? '')) kept.push(pair)
      else if (pair !== '') omitted++
    }
  }
  return {
    method: request.method,
    url: `${at >= 0 ? url.slice(0, at) : url}${kept.length ? `?${kept.join('&')}` : ''}`,
    ...(omitted ? {omittedQueryParams: omitted} : {}),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  }
}

/** For routes that stream for a long time with quiet gaps (log follow): lift the idle timeout. */
export function allowIdleStream(request: FastifyRequest): void {
  request.raw.socket.setTimeout(0)
}

/**
 * A path that does not percent-decode (bad escape, not UTF-8) never reaches the hooks or the error
 * handler: fastify hands it here. The token is checked first, as for any request.
 */
function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply, token: string): void {
  if (refuseWithoutToken(request, reply, token)) return
  const {status, body} = error.code === 'FST_ERR_BAD_URL' ? badUrlReply() : errorReply(error)
  void reply.code(status).send({error: body})
}

/** Answers 401 unless the request carries `token`; returns the reply when it did. */
function refuseWithoutToken(request: FastifyRequest, reply: FastifyReply, token: string): FastifyReply | undefined {
  const presented = bearerToken(request.headers.authorization)
  if (presented === undefined) return unauthorized(reply, 'missing token')
  if (!tokenMatches(presented, token)) {
    request.log.warn('request with a wrong token refused')
    return unauthorized(reply, 'wrong token')
  }
  return undefined
}

function unauthorized(reply: FastifyReply, message: 'missing token' | 'wrong token'): FastifyReply {
  const hint =
    message === 'missing token'
      ? 'send "Authorization: Bearer <token>" with the token from your launcho-client-auth.yaml'
      : 'run "launcho print-auth" on the server and replace your launcho-client-auth.yaml with its output'
  // connection: close, so a client without the token cannot keep the socket by trickling a body.
  return reply
    .code(401)
    .header('www-authenticate', 'Bearer realm="launcho"')
    .header('connection', 'close')
    .send({error: new LaunchoError('unauthorized', message, {hint}).toJSON()})
}

type ErrorBody = ReturnType<LaunchoError['toJSON']>

function badUrlReply(): {status: number; body: ErrorBody} {
  const error = new LaunchoError('invalid_request', 'the URL is not valid UTF-8 percent-encoding', {
    hint: 'percent-encode each byte of the UTF-8 form of every path segment (as encodeURIComponent does)',
  })
  return {status: error.status, body: error.toJSON()}
}

/** Maps anything a route or fastify throws to the API's status and error body. */
export function errorReply(error: unknown): {status: number; body: ErrorBody} {
  if (error instanceof LaunchoError) return {status: error.status, body: error.toJSON()}
  const fastifyError = error as {statusCode?: number; code?: string; message?: string; validation?: {instancePath?: string; message?: string}[]}
  const status = fastifyError.statusCode
  if (status === 413) {
    return {
      status,
      body: {code: 'payload_too_large', message: 'request body is too large', hint: 'send a smaller body; large files go through the resource upload route'},
    }
  }
  if (fastifyError.validation) {
    const problems: Problem[] = fastifyError.validation.map((issue) => ({
      field: issue.instancePath ? issue.instancePath.replace(/^\//, '').replace(/\//g, '.') : undefined,
      message: issue.message ?? 'is invalid',
    }))
    return {status: 400, body: {code: 'invalid_request', message: fastifyError.message ?? 'invalid request', hint: 'check the request against the API schema', problems}}
  }
  // Other 4xx raised by fastify itself (bad JSON, wrong content type, bad content-length…) are
  // about the request, and their messages are written for clients.
  if (status !== undefined && status >= 400 && status < 500) {
    return {status, body: {code: 'invalid_request', message: fastifyError.message ?? 'invalid request', hint: 'send a JSON body with "content-type: application/json"'}}
  }
  return {status: 500, body: {code: 'internal', message: 'internal server error', hint: 'see the launcho server log (journalctl -u launcho) for details'}}
}
