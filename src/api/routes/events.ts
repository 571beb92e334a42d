/**
 * GET /v1/events?since=N&limit=N&follow=1 — the server's events as NDJSON, oldest first: those
 * after `since` (else the last `limit`, default 20), and with `follow` every new one as it
 * happens, until the client goes away. An empty line is sent every 15 s so that a client (and any
 * proxy between) can tell a quiet stream from a dead one. A client that reads too slowly is cut
 * with a last `{"error": …}` line; it resumes with `since`.
 */
import type {FastifyInstance} from 'fastify'
import {LaunchoError, type Problem} from '../../errors.js'
import {EVENT_LOG_CAPACITY, type LaunchoEvent} from '../../protocol/events.js'
import {routes} from '../../protocol/routes.js'
import {serveStream} from '../route.js'
import {allowIdleStream} from '../server.js'
import type {EventFeed} from '../services.js'

const HEARTBEAT_MS = 15_000
/** Bytes queued for a client that does not read before it is cut. */
const MAX_BUFFERED_BYTES = 1024 * 1024

export function registerEventRoutes(app: FastifyInstance, events: EventFeed): void {
  serveStream(app, routes.events, async ({query, request, reply}) => {
    const {since, limit, follow} = parseEventsQuery(query)
    const past = since !== undefined ? events.after(since) : events.recent(limit)
    if (follow) allowIdleStream(request)
    reply.hijack()
    const out = reply.raw
    out.writeHead(200, {'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store'})
    const line = (event: LaunchoEvent) => `${JSON.stringify(event)}\n`
    if (!follow) {
      out.end(past.map(line).join(''))
      return
    }
    // From here to the subscription nothing yields, so no event falls between the two.
    let last = past.at(-1)?.seq ?? events.lastSeq()
    out.write(past.map(line).join(''))
    await new Promise<void>((resolve) => {
      const unsubscribe = events.subscribe((event) => {
        if (event.seq <= last) return
        last = event.seq
        if (out.writableLength > MAX_BUFFERED_BYTES) return cut()
        out.write(line(event))
      })
      const heartbeat = setInterval(() => out.write('\n'), HEARTBEAT_MS)
      const finish = () => {
        unsubscribe()
        clearInterval(heartbeat)
        resolve()
      }
      const cut = () => {
        const error = new LaunchoError('unreachable', 'the client read the event stream too slowly and was cut off', {hint: `resume with since=${last}`})
        out.end(`${JSON.stringify({error: error.toJSON()})}\n`)
        finish()
      }
      out.once('close', finish)
    })
  })
}

function parseEventsQuery(query: Record<string, unknown>): {since?: number; limit: number; follow: boolean} {
  const problems: Problem[] = []
  const number = (field: string, max: number): number | undefined => {
    const value = query[field]
    if (value === undefined || value === '') return undefined
    if (typeof value === 'string' && /^\d{1,15}$/.test(value) && Number(value) <= max) return Number(value)
    problems.push({field, message: `must be a whole number from 0 to ${max}`})
    return undefined
  }
  const since = number('since', Number.MAX_SAFE_INTEGER)
  const limit = number('limit', EVENT_LOG_CAPACITY) ?? 20
  const follow = query.follow
  if (follow !== undefined && !['', '0', '1', 'true', 'false'].includes(String(follow))) problems.push({field: 'follow', message: 'must be true or false'})
  if (problems.length > 0) throw new LaunchoError('invalid_request', 'invalid events request', {problems, hint: 'see "launcho events --help"'})
  return {...(since !== undefined ? {since} : {}), limit, follow: follow === '1' || follow === 'true'}
}
