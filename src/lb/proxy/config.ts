/**
 * The userspace proxy's config file: written by UserspaceBalancer, read by the proxy process at
 * start and on SIGHUP. Both sides identify a config by the sha256 of its exact text, so the proxy
 * can acknowledge "I now serve this one" through its stats file.
 */
import {createHash} from 'node:crypto'
import {availableParallelism} from 'node:os'
import {z} from 'zod'
import type {ServiceTable} from '../balancer.js'
import {byCodeUnits} from '../../text-order.js'

export const MAX_WORKERS = 256

const endpoint = z.object({host: z.string().min(1), port: z.number().int().min(0).max(65535)})

export const proxyConfigSchema = z.object({
  version: z.literal(1),
  /** Give up on one backend after this long and try the next. */
  connectTimeoutMs: z.number().int().positive(),
  /** How many backends one client connection may try before it is closed. */
  connectAttempts: z.number().int().positive(),
  /** Close a connection with no traffic either way for this long; 0 = never. */
  idleTimeoutMs: z.number().int().min(0),
  /** Threads accepting and relaying, each with its own listener per service; 0 = defaultWorkers(). */
  workers: z.number().int().min(0).max(MAX_WORKERS).default(0),
  services: z.array(
    z.object({
      name: z.string().min(1),
      on: endpoint,
      backends: z.array(endpoint.extend({weight: z.number().int().min(0)})),
    }),
  ),
})

export type ProxyConfig = z.output<typeof proxyConfigSchema>
export type ProxyService = ProxyConfig['services'][number]
export type ProxyOptions = Omit<ProxyConfig, 'version' | 'services'>

export const defaultProxyOptions: ProxyOptions = {connectTimeoutMs: 2_000, connectAttempts: 3, idleTimeoutMs: 0, workers: 0}

/**
 * Half the CPUs, at least 1. The backends are local instances, so every CPU the proxy takes is one
 * its apps lack: at the same CPU cost per request as the app (the proxy's is about 1 to 3 times the
 * app's here, kernel included), an even split serves the most requests. More threads than CPUs it
 * can have to itself only cost more per request (bench:lb on 2 CPUs: 2 threads took 35 % more CPU
 * per request than 1).
 */
export function defaultWorkers(): number {
  return Math.max(1, Math.floor(availableParallelism() / 2))
}

export const CONFIG_FILE = 'config.json'
export const STATS_FILE = 'stats.json'

/** Canonical text: services by name, backends by address, so equal tables give equal bytes. */
export function renderProxyConfig(tables: ServiceTable[], options: ProxyOptions = defaultProxyOptions): string {
  const services = [...tables]
    .sort((a, b) => byCodeUnits(a.name, b.name))
    .map((table) => ({
      name: table.name,
      on: {host: table.on.host, port: table.on.port},
      backends: [...table.backends]
        .sort((a, b) => byCodeUnits(a.host, b.host) || a.port - b.port)
        .map((backend) => ({host: backend.host, port: backend.port, weight: backend.weight})),
    }))
  const config: ProxyConfig = {version: 1, ...options, services}
  return `${JSON.stringify(config, null, 2)}\n`
}

export function parseProxyConfig(text: string): ProxyConfig {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new Error(`not JSON: ${(error as Error).message}`)
  }
  const result = proxyConfigSchema.safeParse(raw)
  if (!result.success) {
    const issue = result.error.issues[0]!
    throw new Error(`${issue.path.join('.') || '(root)'}: ${issue.message}`)
  }
  return result.data
}

export function configHash(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

export function backendKey(backend: {host: string; port: number}): string {
  return `${backend.host}:${backend.port}`
}
