/** One of the proxy's worker threads as the main thread sees it: what it last reported, and requests to it. */
import {fileURLToPath} from 'node:url'
import {Worker} from 'node:worker_threads'
import type {Logger} from 'pino'
import type {ProxyConfig} from './config.js'
import type {FromWorker, ToWorker, WorkerReport, WorkerSetup} from './worker-messages.js'

const workerEntry = fileURLToPath(new URL('./worker.js', import.meta.url))

/** After the drain grace, how long a closing worker may take to exit before it is terminated. */
const EXIT_MARGIN_MS = 1_000

export class ProxyWorker {
  report: WorkerReport = {services: {}, active: 0}
  readonly startedAt = Date.now()
  readonly exited: Promise<number>
  /** Resolves once it no longer accepts, after close() (or when it exited). */
  readonly stopped: Promise<void>
  private stoppedAccepting!: () => void
  private readonly thread: Worker
  private readonly pending = new Map<number, {resolve: () => void; reject: (error: Error) => void}>()
  private nextId = 1

  constructor(setup: WorkerSetup, log: Logger) {
    this.thread = new Worker(workerEntry, {workerData: setup})
    this.thread.on('message', (message: FromWorker) => {
      if (message.type === 'stopped') return this.stoppedAccepting()
      this.report = message.report
      if (message.type !== 'applied') return
      const waiter = this.pending.get(message.id)
      this.pending.delete(message.id)
      if (message.error) waiter?.reject(new Error(`worker ${setup.index}: ${message.error}`))
      else waiter?.resolve()
    })
    this.thread.on('error', (error) => log.error({worker: setup.index, err: error.stack ?? String(error)}, 'worker thread failed'))
    this.exited = new Promise((resolve) => this.thread.once('exit', resolve))
    this.stopped = new Promise((resolve) => (this.stoppedAccepting = resolve))
    void this.exited.then(() => {
      this.stoppedAccepting()
      // Its connections went with it: it counts for nothing now, and serves no old config either.
      this.report = {services: {}, active: 0}
      for (const waiter of this.pending.values()) waiter.resolve()
      this.pending.clear()
    })
  }

  /** Resolves once it serves `config`, or when it exited (a dead worker serves no old config either). */
  apply(config: ProxyConfig, sequences: Record<string, SharedArrayBuffer>): Promise<void> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, {resolve, reject})
      this.post({type: 'apply', id, config, sequences})
    })
  }

  /** Stop accepting, drain for up to `graceMs` (Infinity: until the last connection ends), exit. */
  async close(graceMs: number): Promise<void> {
    this.post({type: 'close', graceMs})
    if (Number.isFinite(graceMs)) {
      const timer = setTimeout(() => void this.thread.terminate(), graceMs + EXIT_MARGIN_MS)
      await this.exited
      clearTimeout(timer)
    } else {
      await this.exited
    }
  }

  private post(message: ToWorker): void {
    this.thread.postMessage(message)
  }
}
