/**
 * `launcho status -w`: status drawn again after each burst of events (and every 2 s on a
 * terminal, for uptimes), until Ctrl-C. A terminal is cleared and redrawn from the top, like
 * watch(1); into a pipe each new status follows the last after a blank line, and with --json
 * each is one line (NDJSON).
 */
import type {StatusReport} from '../protocol/status.js'
import type {ApiClient} from './client.js'
import {followEvents} from './follow-rollout.js'

const SETTLE_MS = 100
const TERMINAL_TICK_MS = 2_000

export interface WatchOptions {
  events: number
  json: boolean
  terminal: boolean
  render: (report: StatusReport) => string
  write: (text: string) => void
  signal: AbortSignal
}

export async function watchStatus(client: ApiClient, options: WatchOptions): Promise<void> {
  const {signal} = options
  const show = (report: StatusReport) => {
    const shown = {...report, events: options.events > 0 ? report.events.slice(-options.events) : []}
    if (options.json) options.write(`${JSON.stringify(shown)}\n`)
    else if (options.terminal) options.write(`\u001b[H\u001b[2J${options.render(shown)}\n\nWatching: redrawn on every event; Ctrl-C to stop.\n`)
    else options.write(`${options.render(shown)}\n\n`)
  }
  const fetch = () => client.status({events: Math.max(options.events, 1), ...(options.json ? {} : {costs: 0})})
  const first = await fetch()
  show(first)
  let timer: NodeJS.Timeout | undefined
  let drawing = Promise.resolve()
  const redraw = () => {
    if (timer || signal.aborted) return
    timer = setTimeout(() => {
      timer = undefined
      drawing = drawing.then(async () => {
        if (signal.aborted) return
        // A failed look (the server restarting) is skipped; the next event or tick tries again.
        const report = await fetch().catch(() => undefined)
        if (report && !signal.aborted) show(report)
      })
    }, SETTLE_MS)
  }
  const tick = options.terminal ? setInterval(redraw, TERMINAL_TICK_MS) : undefined
  try {
    await followEvents(client, first.events.at(-1)?.seq ?? 0, signal, redraw)
  } finally {
    clearInterval(tick)
    clearTimeout(timer)
    await drawing
  }
}
