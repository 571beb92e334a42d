/**
 * Validation of a target that arrives over the API, kept off the event loop when it is big: a
 * large document costs the YAML parser up to a second and a few hundred MB, and meanwhile the
 * API, the health checks and the balancer sync must go on. Small targets (nearly all) are read
 * in place, where a worker's start-up would cost more than the parse.
 */
import {Worker} from 'node:worker_threads'
import {LaunchoError} from '../errors.js'
import {loadTargetWithTemplate, type LoadedTarget} from './load.js'
import type {LoadReply, LoadRequest} from './load-worker.js'

export type {LoadedTarget} from './load.js'

export const IN_THREAD_BYTES = 32 * 1024
const WORKER_HEAP_MB = 192
/** A small young generation: a parse allocates briskly, and every MB of it stays resident. */
const WORKER_YOUNG_MB = 16
const WORKER_TIMEOUT_MS = 30_000
/** Long enough for a deploy's follow-ups (a fix set again, a secret change); its heap is ~30 MB of the server's RSS while it lives. */
const WORKER_IDLE_MS = 15_000

export async function loadTargetOffThread(text: string, secrets: ReadonlyMap<string, string>): Promise<LoadedTarget> {
  if (Buffer.byteLength(text, 'utf8') <= IN_THREAD_BYTES) return loadTargetWithTemplate(text, secrets)
  const reply = await inWorker({text, secrets: [...secrets]})
  if (reply.ok) return reply.loaded
  throw new LaunchoError(reply.error.code, reply.error.message, {
    ...(reply.error.hint ? {hint: reply.error.hint} : {}),
    ...(reply.error.problems ? {problems: reply.error.problems} : {}),
  })
}

/**
 * One worker, kept warm between loads (a cold one costs its start-up and an unoptimised parser:
 * about 0.4 s of a no-op `t set` of 1000 processes) and ended after a while idle, so it holds no
 * memory between deploys. Loads take turns; a load that overruns or runs out of memory ends the
 * worker, and the next load gets a fresh one.
 */
class LoadWorker {
  private worker?: Worker
  private idleTimer?: NodeJS.Timeout
  private turn: Promise<unknown> = Promise.resolve()

  load(request: LoadRequest): Promise<LoadReply> {
    const mine = this.turn.then(() => this.run(request))
    this.turn = mine.catch(() => undefined)
    return mine
  }

  private run(request: LoadRequest): Promise<LoadReply> {
    clearTimeout(this.idleTimer)
    const worker = (this.worker ??= this.spawn())
    return new Promise<LoadReply>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer)
        worker.off('message', onMessage)
        worker.off('error', onError)
        worker.off('exit', onExit)
      }
      const onMessage = (reply: LoadReply) => {
        done()
        this.idleTimer = setTimeout(() => this.end(worker), WORKER_IDLE_MS).unref()
        resolve(reply)
      }
      const onError = (error: Error & {code?: string}) => {
        done()
        this.end(worker)
        if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') reject(tooBig(`reading it needed more than ${WORKER_HEAP_MB} MB`))
        else reject(new LaunchoError('internal', `validating the target failed: ${error.message}`, {cause: error}))
      }
      const onExit = (code: number) => {
        done()
        this.end(worker)
        reject(new LaunchoError('internal', `validating the target stopped with exit code ${code}`))
      }
      const timer = setTimeout(() => {
        done()
        this.end(worker)
        reject(tooBig(`reading it took more than ${WORKER_TIMEOUT_MS / 1000} s`))
      }, WORKER_TIMEOUT_MS)
      worker.on('message', onMessage)
      worker.once('error', onError)
      worker.once('exit', onExit)
      worker.postMessage(request)
    })
  }

  private spawn(): Worker {
    const worker = new Worker(new URL('./load-worker.js', import.meta.url), {resourceLimits: {maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: WORKER_YOUNG_MB}})
    // An idle worker never keeps the server (or a test) alive.
    worker.unref()
    return worker
  }

  private end(worker: Worker): void {
    if (this.worker === worker) this.worker = undefined
    void worker.terminate()
  }
}

const worker = new LoadWorker()

function inWorker(request: LoadRequest): Promise<LoadReply> {
  return worker.load(request)
}

function tooBig(why: string): LaunchoError {
  return new LaunchoError('payload_too_large', `the target is too complex: ${why}`, {
    hint: 'a target this large is probably generated; write fewer, larger entries (scripts, resources)',
  })
}
