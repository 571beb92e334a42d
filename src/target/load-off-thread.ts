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
const WORKER_TIMEOUT_MS = 30_000

export async function loadTargetOffThread(text: string, secrets: ReadonlyMap<string, string>): Promise<LoadedTarget> {
  if (Buffer.byteLength(text, 'utf8') <= IN_THREAD_BYTES) return loadTargetWithTemplate(text, secrets)
  const reply = await inWorker({text, secrets: [...secrets]})
  if (reply.ok) return reply.loaded
  throw new LaunchoError(reply.error.code, reply.error.message, {
    ...(reply.error.hint ? {hint: reply.error.hint} : {}),
    ...(reply.error.problems ? {problems: reply.error.problems} : {}),
  })
}

function inWorker(request: LoadRequest): Promise<LoadReply> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./load-worker.js', import.meta.url), {
      workerData: request,
      resourceLimits: {maxOldGenerationSizeMb: WORKER_HEAP_MB},
    })
    const timer = setTimeout(() => {
      void worker.terminate()
      reject(tooBig(`reading it took more than ${WORKER_TIMEOUT_MS / 1000} s`))
    }, WORKER_TIMEOUT_MS)
    worker.once('message', (reply: LoadReply) => {
      clearTimeout(timer)
      resolve(reply)
      void worker.terminate()
    })
    worker.once('error', (error: Error & {code?: string}) => {
      clearTimeout(timer)
      if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') reject(tooBig(`reading it needed more than ${WORKER_HEAP_MB} MB`))
      else reject(new LaunchoError('internal', `validating the target failed: ${error.message}`, {cause: error}))
    })
    worker.once('exit', (code) => {
      clearTimeout(timer)
      reject(new LaunchoError('internal', `validating the target stopped with exit code ${code}`))
    })
  })
}

function tooBig(why: string): LaunchoError {
  return new LaunchoError('payload_too_large', `the target is too complex: ${why}`, {
    hint: 'a target this large is probably generated; write fewer, larger entries (scripts, resources)',
  })
}
