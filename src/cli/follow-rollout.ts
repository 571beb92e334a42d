/**
 * Follows the rollout a change started until every changed process serves its new version (or
 * is stopped), one fails, the time is up or the caller gives up. The server's event stream says
 * when to look again; `status` is the judge (rollout-progress.ts). Without the stream (a server
 * restart, a dropped connection) it reconnects with back-off and resumes after the last event
 * seen, while still looking at `status` every second.
 */
import {LaunchoError} from '../errors.js'
import type {ChangesResponse} from '../protocol/changes.js'
import type {LaunchoEvent} from '../protocol/events.js'
import type {ApiClient} from './client.js'
import {changesToFollow, progressOf, type Progress} from './rollout-progress.js'

/** What the follower tells its view: every relevant event, and each new judgement. */
export interface RolloutView {
  event(event: LaunchoEvent): void
  progress(progress: Progress[], elapsedMs: number): void
}

export interface FollowOptions {
  /** 0: no limit. */
  timeoutMs: number
  view: RolloutView
  signal?: AbortSignal
}

export interface FollowResult {
  progress: Progress[]
  /** 'settled': every process reached an outcome (some may have failed). */
  end: 'settled' | 'timeout' | 'aborted'
}

const LOOK_EVERY_MS = 1_000
/** Events come in bursts (a start is several); one look at status after each burst. */
const SETTLE_MS = 50
/**
 * The event stream and status answer on connections of their own, so the verdict can arrive
 * before the last events that led to it (the new version's "serving"): the follower waits this
 * long at most for the stream to catch up with the status it judged by.
 */
const CATCH_UP_MS = 1_000

export async function followRollout(client: ApiClient, response: ChangesResponse, options: FollowOptions): Promise<FollowResult> {
  const changes = changesToFollow(response.changes)
  const started = Date.now()
  const watched = new Set(changes.map((change) => change.process))
  const stop = new AbortController()
  const abort = () => stop.abort()
  options.signal?.addEventListener('abort', abort, {once: true})
  let wake: (() => void) | undefined
  const kick = () => wake?.()
  const seen = new EventsSeen(response.eventSeq)
  const stream = followEvents(client, response.eventSeq, stop.signal, (event) => {
    seen.saw(event.seq)
    if (event.process === undefined || !watched.has(event.process)) return
    options.view.event(event)
    kick()
  })
  try {
    let progress: Progress[] = []
    // Looks are spaced by at least their own duration, so a rollout of 1000 processes, with its
    // stream of events, never has the CLI asking for status back to back.
    let lookMs = 0
    for (;;) {
      const lookStarted = Date.now()
      const report = await statusOrNothing(client)
      lookMs = Date.now() - lookStarted
      if (report === undefined) {
        // The server restarts, or the connection failed: the rollout goes on without us; look again.
        if (options.timeoutMs > 0 && Date.now() - started >= options.timeoutMs) return {progress, end: 'timeout'}
        await sleep(LOOK_EVERY_MS, options.signal)
        if (options.signal?.aborted) return {progress, end: 'aborted'}
        continue
      }
      const byName = new Map(report.processes.map((process) => [process.name, process]))
      progress = changes.map((change) => progressOf(change, byName.get(change.process)))
      options.view.progress(progress, Date.now() - started)
      if (progress.every((one) => one.outcome !== undefined)) {
        if (report.server.eventSeq !== undefined) await seen.reach(report.server.eventSeq, CATCH_UP_MS, options.signal)
        return {progress, end: 'settled'}
      }
      const left = options.timeoutMs > 0 ? started + options.timeoutMs - Date.now() : Number.POSITIVE_INFINITY
      if (left <= 0) return {progress, end: 'timeout'}
      if (options.signal?.aborted) return {progress, end: 'aborted'}
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(LOOK_EVERY_MS, left))
        function done() {
          clearTimeout(timer)
          options.signal?.removeEventListener('abort', done)
          wake = undefined
          resolve()
        }
        wake = () => setTimeout(done, Math.max(SETTLE_MS, lookMs))
        options.signal?.addEventListener('abort', done, {once: true})
      })
      if (options.signal?.aborted) return {progress, end: 'aborted'}
    }
  } finally {
    stop.abort()
    options.signal?.removeEventListener('abort', abort)
    await stream
  }
}

/** The newest event the stream has delivered, and a wait for it to reach a number. */
class EventsSeen {
  private waiter?: {seq: number; done: () => void}

  constructor(private last: number) {}

  saw(seq: number): void {
    this.last = Math.max(this.last, seq)
    if (this.waiter && this.last >= this.waiter.seq) this.waiter.done()
  }

  /** Resolves once events up to `seq` arrived, or after `limitMs` (the stream may be down). */
  reach(seq: number, limitMs: number, signal?: AbortSignal): Promise<void> {
    if (this.last >= seq || signal?.aborted) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        this.waiter = undefined
        resolve()
      }
      const timer = setTimeout(done, limitMs)
      signal?.addEventListener('abort', done, {once: true})
      this.waiter = {seq, done}
    })
  }
}

async function statusOrNothing(client: ApiClient) {
  try {
    // A deploy follows states, not resource use: no usage reads at each look.
    return await client.status({events: 0, usage: 0, costs: 0})
  } catch (error) {
    if (error instanceof LaunchoError && (error.code === 'unreachable' || error.code === 'systemd_failed')) return undefined
    throw error
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), {once: true})
  })
}

/** Calls `onEvent` for each event after `since` until `signal` aborts, reconnecting as needed. */
export async function followEvents(
  client: ApiClient,
  since: number,
  signal: AbortSignal,
  onEvent: (event: LaunchoEvent) => void,
  onLost?: (error: unknown) => void,
): Promise<void> {
  let delayMs = 250
  while (!signal.aborted) {
    try {
      for await (const event of client.events({since, follow: true}, signal)) {
        since = event.seq
        delayMs = 250
        onEvent(event)
      }
      if (!signal.aborted) onLost?.(undefined)
    } catch (error) {
      // Gone or refused: try the stream again after a while.
      if (!signal.aborted) onLost?.(error)
    }
    if (signal.aborted) return
    await sleep(delayMs, signal)
    delayMs = Math.min(delayMs * 2, 5_000)
  }
}
