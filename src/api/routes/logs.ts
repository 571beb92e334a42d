/**
 * GET /v1/logs/:process?lines=&since=&follow=&allVersions= — a process's log lines as NDJSON
 * (one LogEntry per line), and GET /v1/logs?… those of every process, streamed as journalctl produces them and only as fast as the client
 * reads. journalctl is killed when the client goes away or the response ends. A failure after
 * the 200 has gone out arrives as a last line `{"error": {code, message, hint}}`.
 */
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import type {FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest} from 'fastify'
import type {Journal} from '../../logs/journal.js'
import {LogService} from '../../logs/log-service.js'
import {parseLogsRequest} from '../../logs/logs-request.js'
import {routes} from '../../protocol/routes.js'
import {serveStream} from '../route.js'
import {allowIdleStream, errorReply} from '../server.js'
import type {CurrentVersion} from '../services.js'

/** A follow with nothing to show yet answers 200 after this long unless journalctl failed first. */
const FOLLOW_HEADERS_AFTER_MS = 300

type Step = Promise<IteratorResult<Buffer>>

/** `journal` is the server's own (config.journalRoot); `current` names each process's current version. */
export function registerLogRoutes(app: FastifyInstance, journal: Journal, current: CurrentVersion): void {
  const logs = new LogService(journal, current)
  serveStream(app, routes.processLogs, ({params, query, request, reply}) => streamLogs(logs, params.process, query, request, reply))
  serveStream(app, routes.allLogs, ({query, request, reply}) => streamLogs(logs, undefined, query, request, reply))
}

async function streamLogs(logs: LogService, process: string | undefined, raw: Record<string, unknown>, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const query = parseLogsRequest(process, raw)
  const plan = await logs.plan(query)
  const abort = new AbortController()
  reply.raw.once('close', () => abort.abort())
  const lines = logs.lines(plan, abort.signal)
  // Waiting for the first lines lets an early journalctl failure keep its HTTP status.
  let first: Step
  try {
    first = (await firstStep(lines, query.follow ? FOLLOW_HEADERS_AFTER_MS : undefined)).step
  } catch (error) {
    abort.abort()
    throw error
  }
  if (query.follow) allowIdleStream(request)
  reply.hijack()
  reply.raw.writeHead(200, {'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store'})
  const body = Readable.from(ndjsonBody(first, lines, request.log), {objectMode: false, highWaterMark: 64 * 1024})
  // Rejects when the client goes away mid-stream; the abort above has then ended journalctl.
  await pipeline(body, reply.raw).catch(() => undefined)
  abort.abort()
}

/** The first step once it has settled (or `waitMs` passed); throws if it failed by then. */
async function firstStep(lines: AsyncGenerator<Buffer>, waitMs: number | undefined): Promise<{step: Step}> {
  const step = lines.next()
  if (waitMs === undefined) {
    await step
    return {step}
  }
  let timer: NodeJS.Timeout | undefined
  await Promise.race([step, new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))])
  clearTimeout(timer)
  return {step}
}

async function* ndjsonBody(first: Step, rest: AsyncGenerator<Buffer>, log: FastifyBaseLogger): AsyncGenerator<Buffer> {
  try {
    for (let step = await first; !step.done; step = await rest.next()) yield step.value
  } catch (error) {
    const {status, body} = errorReply(error)
    if (status >= 500) log.error({code: body.code, msg: body.message}, 'log stream failed')
    yield Buffer.from(`${JSON.stringify({error: body})}\n`)
  } finally {
    await rest.return(undefined)
  }
}
