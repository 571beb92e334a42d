/**
 * The event stream end to end over real TLS: the server's events route and the CLI's typed client
 * (followEvents): the past after `since`, each new event as it happens, a resume after a lost
 * stream without a gap or a repeat, and bad queries refused with the field.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {registerEventRoutes} from '../../src/api/routes/events.js'
import {ApiClient} from '../../src/cli/client.js'
import {followEvents} from '../../src/cli/follow-rollout.js'
import {LaunchoError} from '../../src/errors.js'
import {EventLog} from '../../src/events.js'
import type {LaunchoEvent} from '../../src/protocol/events.js'
import {startTestApiServer, type TestApiServer} from '../helpers/test-api-server.js'

describe('the event stream', () => {
  let api: TestApiServer
  let client: ApiClient
  const log = new EventLog()

  before(async () => {
    api = await startTestApiServer('api-events', (app) => registerEventRoutes(app, log))
    client = new ApiClient({path: 'test', host: api.host, cert: api.auth.cert, token: api.auth.token})
  })
  after(async () => api?.close())

  const list = async (query: {since?: number; limit?: number}) => {
    const events: LaunchoEvent[] = []
    for await (const event of client.events(query)) events.push(event)
    return events
  }

  it('lists the last `limit` events, or those after `since`, oldest first', async () => {
    for (let i = 1; i <= 5; i++) log.add('started', `e${i}`, 'web')
    assert.deepEqual((await list({limit: 2})).map((event) => event.message), ['e4', 'e5'])
    assert.deepEqual((await list({since: 3})).map((event) => [event.seq, event.message]), [[4, 'e4'], [5, 'e5']])
  })

  it('follows: each new event once, resuming after the last one seen when the stream is cut', async () => {
    const stop = new AbortController()
    const seen: string[] = []
    const following = followEvents(client, log.lastSeq(), stop.signal, (event) => seen.push(event.message))
    // Events added before the stream is up are not lost: the follow starts after `since`.
    log.add('serving', 'f1', 'web')
    const until = async (count: number) => {
      for (let i = 0; i < 100 && seen.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await until(1)
    // The stream is cut (a proxy, a server restart): the follower reconnects after f1.
    api.server.app.server.closeAllConnections()
    log.add('started', 'f2', 'api')
    log.add('serving', 'f3', 'api')
    await until(3)
    stop.abort()
    await following
    assert.deepEqual(seen, ['f1', 'f2', 'f3'])
  })

  it('refuses a bad query with the field and what it takes', async () => {
    await assert.rejects(list({since: -1}), (error: unknown) => error instanceof LaunchoError && error.code === 'invalid_request' && error.problems[0]?.field === 'since')
    const answer = await client.transport.request('GET', '/v1/events', {query: {limit: 501}}).catch((error: unknown) => error)
    assert.ok(answer instanceof LaunchoError && /from 0 to 500/.test(answer.problems[0]?.message ?? ''), String(answer))
  })
})
