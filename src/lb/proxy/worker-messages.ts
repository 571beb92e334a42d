/** What the proxy's main thread and its worker threads say to each other. */
import type {ProxyConfig} from './config.js'
import type {ServiceStats} from './service-stats.js'

/** A worker's counts: per service (draining listeners included), and its open connections. */
export interface WorkerReport {
  services: Record<string, ServiceStats>
  active: number
}

export type ToWorker =
  /** Serve this config from now on; `sequences` are the services' shared rotation counters. */
  | {type: 'apply'; id: number; config: ProxyConfig; sequences: Record<string, SharedArrayBuffer>}
  /** Stop accepting, let open connections finish for up to `graceMs`, then exit. */
  | {type: 'close'; graceMs: number}

export type FromWorker =
  /** The config of apply `id` is in force (or could not be applied: `error`). */
  | {type: 'applied'; id: number; report: WorkerReport; error?: string}
  /** The counts changed. */
  | {type: 'report'; report: WorkerReport}
  /** After a close: it no longer accepts (and exits once its connections are done). */
  | {type: 'stopped'}

export interface WorkerSetup {
  index: number
  logLevel: string
}
