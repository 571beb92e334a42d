/** Runs in a worker thread: validates each target load-off-thread.ts sends and posts the result back. */
import {parentPort} from 'node:worker_threads'
import {LaunchoError} from '../errors.js'
import {loadTargetWithTemplate} from './load.js'
import type {LoadedTarget} from './load.js'

export interface LoadRequest {
  text: string
  secrets: Array<[string, string]>
}

export type LoadReply = {ok: true; loaded: LoadedTarget} | {ok: false; error: ReturnType<LaunchoError['toJSON']>}

function load({text, secrets}: LoadRequest): LoadReply {
  try {
    return {ok: true, loaded: loadTargetWithTemplate(text, new Map(secrets))}
  } catch (error) {
    if (error instanceof LaunchoError) return {ok: false, error: error.toJSON()}
    return {ok: false, error: {code: 'internal', message: `validating the target failed: ${(error as Error).message}`}}
  }
}

parentPort?.on('message', (request: LoadRequest) => parentPort?.postMessage(load(request)))
