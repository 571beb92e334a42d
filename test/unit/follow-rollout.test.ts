/**
 * A deploy's follower shows every event up to the status it judged by: the event stream and
 * status come on connections of their own, and the verdict ("web serving") can arrive before the
 * stream delivered the new version's own "serving" event, which then went unprinted (seen in CI).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {followRollout, type RolloutView} from '../../src/cli/follow-rollout.js'
import type {ApiClient} from '../../src/cli/client.js'
import type {ChangesResponse} from '../../src/protocol/changes.js'
import type {LaunchoEvent} from '../../src/protocol/events.js'
import type {StatusReport} from '../../src/protocol/status.js'

const change: ChangesResponse = {changes: [{process: 'web', change: 'replace', from: 'aaaaaaaa', to: 'bbbbbbbb'}], eventSeq: 10}
const serving = (eventSeq: number | undefined): StatusReport =>
  ({
    server: {version: 'test', bus: 'unix:path=/x', ...(eventSeq !== undefined ? {eventSeq} : {})},
    processes: [
      {name: 'web', version: 'bbbbbbbb', state: 'running', replicas: 1, instances: [{unit: 'launcho-web-bbbbbbbb.service', version: 'bbbbbbbb', current: true, activeState: 'active', subState: 'running', traffic: 'in', health: 'healthy', ports: {}}]},
    ],
    events: [],
  }) as unknown as StatusReport
const event = (seq: number, kind: LaunchoEvent['kind'], message: string): LaunchoEvent => ({seq, time: new Date().toISOString(), kind, process: 'web', message})

/** A client whose status says serving at once, while its stream delivers the events `lateMs` later. */
function lateStream(eventSeq: number | undefined, lateMs: number): ApiClient {
  return {
    status: async () => serving(eventSeq),
    async *events(_query: unknown, signal?: AbortSignal) {
      const aborted = () => new Promise((resolve) => (signal!.aborted ? resolve(undefined) : signal!.addEventListener('abort', resolve, {once: true})))
      await Promise.race([new Promise((resolve) => setTimeout(resolve, lateMs).unref()), aborted()])
      if (signal!.aborted) return
      yield event(11, 'started', 'started launcho-web-bbbbbbbb.service')
      yield event(12, 'serving', 'launcho-web-bbbbbbbb.service is healthy and serving')
      await aborted()
    },
  } as unknown as ApiClient
}

function recorder(): {view: RolloutView; events: string[]} {
  const events: string[] = []
  return {view: {event: (e) => events.push(`${e.kind} ${e.message}`), progress: () => {}}, events}
}

describe('followRollout', () => {
  it('settled before the stream caught up: waits for the events up to the status it judged by', async () => {
    const {view, events} = recorder()
    const result = await followRollout(lateStream(12, 200), change, {timeoutMs: 10_000, view})
    assert.equal(result.end, 'settled')
    assert.deepEqual(events, ['started started launcho-web-bbbbbbbb.service', 'serving launcho-web-bbbbbbbb.service is healthy and serving'])
  })

  it('a stream that never catches up holds the end back by at most a second', async () => {
    const {view} = recorder()
    const started = Date.now()
    const result = await followRollout(lateStream(12, 60_000), change, {timeoutMs: 10_000, view})
    assert.equal(result.end, 'settled')
    assert.ok(Date.now() - started < 3_000, `${Date.now() - started} ms`)
  })

  it('a server that does not say its newest event: settles at once, as before', async () => {
    const {view, events} = recorder()
    const started = Date.now()
    await followRollout(lateStream(undefined, 500), change, {timeoutMs: 10_000, view})
    assert.ok(Date.now() - started < 400, `${Date.now() - started} ms`)
    assert.deepEqual(events, [])
  })
})
