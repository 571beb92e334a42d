/**
 * The CLI's typed client of the control API: one method per route of src/protocol/routes.ts.
 * A server of this CLI's own version (its answers carry it) speaks the very protocol module the
 * CLI was built with, so its answers are taken as typed; a server of any other version has each
 * answer checked against the route's schema, so a server that speaks another protocol is told
 * apart from one that failed. zod is loaded only then: it would cost every call ~50 ms of start-up.
 */
import type {Readable} from 'node:stream'
import type {z} from 'zod'
import {LaunchoError, type ErrorCode, type Problem} from '../errors.js'
import {LineSplitter} from '../logs/line-splitter.js'
import type {LaunchoEvent} from '../protocol/events.js'
import type {LogsQuery} from '../protocol/logs.js'
import type {RunBody, RunItem} from '../protocol/run.js'
import {endpoints, NAME_HEADER, pathOf, RESOURCE_CONTENT_PATH, SHA256_HEADER, type PathParams} from '../protocol/endpoints.js'
import type {JsonRoute, ResponseOf, Routes} from '../protocol/routes.js'
import {packageVersion} from '../package-version.js'
import type {ClientAuth} from './client-auth.js'
import {HttpTransport, type Query} from './transport.js'

const MAX_EVENT_LINE_BYTES = 1024 * 1024
/** A chunk of a FIFO (at most 64 KiB) in base64, with room to spare. */
const MAX_RUN_LINE_BYTES = 4 * 1024 * 1024

export class ApiClient {
  readonly transport: HttpTransport

  constructor(auth: ClientAuth) {
    this.transport = new HttpTransport(auth)
  }

  ping() {
    return this.call('ping')
  }

  status(query: {events?: number; usage?: 0 | 1; costs?: 0 | 1} = {}) {
    return this.call('status', {query})
  }

  getTarget() {
    return this.call('getTarget')
  }

  /** `allowEmpty`: accept a target without processes (it stops every process). */
  setTarget(text: string, options: {allowEmpty?: boolean} = {}) {
    return this.call('setTarget', {body: {text, ...(options.allowEmpty ? {allowEmpty: true} : {})}})
  }

  diffTarget(text: string) {
    return this.call('diffTarget', {body: {text}})
  }

  renderTarget(body: {text?: string; process?: string}) {
    return this.call('renderTarget', {body})
  }

  exportUnits(body: {envDir: string; process?: string}) {
    return this.call('exportUnits', {body})
  }

  secretNames() {
    return this.call('listSecrets')
  }

  secret(name: string) {
    return this.call('getSecret', {params: {name}})
  }

  setSecret(name: string, value: string) {
    return this.call('setSecret', {params: {name}, body: {value}})
  }

  removeSecret(name: string) {
    return this.call('removeSecret', {params: {name}})
  }

  restart(process: string) {
    return this.call('restart', {params: {name: process}})
  }

  stop(process: string) {
    return this.call('stop', {params: {name: process}})
  }

  start(process: string) {
    return this.call('start', {params: {name: process}})
  }

  history() {
    return this.call('history')
  }

  release(number: number) {
    return this.call('release', {params: {number: String(number)}})
  }

  diffRelease(number: number) {
    return this.call('diffRelease', {params: {number: String(number)}})
  }

  /** Without `release`: the newest before the latest that ended serving. */
  rollback(release?: number) {
    return this.call('rollback', {body: release === undefined ? {} : {release}})
  }

  resources() {
    return this.call('listResources')
  }

  resource(id: string) {
    return this.call('resource', {params: {id}})
  }

  removeResource(id: string) {
    return this.call('removeResource', {params: {id}})
  }

  /** Streams `body` as a new resource; the server checks it against `sha256` before keeping it. */
  async uploadResource(body: Readable, options: {sha256: string; name: string; size: number; onProgress?: (sentBytes: number) => void}) {
    const answer = await this.transport.upload(endpoints.uploadResource.path, body, {
      size: options.size,
      headers: {[SHA256_HEADER]: options.sha256, [NAME_HEADER]: encodeURIComponent(options.name)},
      ...(options.onProgress ? {onProgress: options.onProgress} : {}),
    })
    return (await this.checked('uploadResource', answer)) as ResponseOf<Routes['uploadResource']>
  }

  /** A resource's bytes, as they arrive. */
  resourceContent(id: string, signal?: AbortSignal): AsyncGenerator<Buffer> {
    return this.transport.stream(pathOf(RESOURCE_CONTENT_PATH, {id}), signal ? {signal} : {})
  }

  /** Log lines as NDJSON chunks (src/logs/log-printer.ts prints them): of one process, or of every one. */
  logs(process: string | undefined, query: LogsQuery, signal?: AbortSignal): AsyncGenerator<Buffer> {
    const path = process === undefined ? endpoints.allLogs.path : pathOf(endpoints.processLogs.path, {process})
    return this.transport.stream(path, {query: definedOnly({...query}), ...(signal ? {signal} : {})})
  }

  /** Events after `since` (else the last `limit`), then with `follow` each new one until `signal` aborts. */
  async *events(query: {since?: number; limit?: number; follow?: boolean}, signal?: AbortSignal): AsyncGenerator<LaunchoEvent> {
    const splitter = new LineSplitter(MAX_EVENT_LINE_BYTES)
    const chunks = this.transport.stream(endpoints.events.path, {query: definedOnly({...query, follow: query.follow ? 1 : undefined}), ...(signal ? {signal} : {})})
    for await (const chunk of chunks) {
      for (const line of splitter.push(chunk)) {
        if (line === '') continue
        const value = parseLine(line)
        if (isErrorLine(value)) throw streamError(value.error)
        yield (await this.checked('events', value)) as LaunchoEvent
      }
    }
  }

  /** The target's named commands, as written. */
  commands() {
    return this.call('commands')
  }

  /** A run's items: its unit, its output chunks, how it ended (a detached run: only its unit). */
  async *run(body: RunBody, signal?: AbortSignal): AsyncGenerator<RunItem> {
    const splitter = new LineSplitter(MAX_RUN_LINE_BYTES)
    const chunks = this.transport.stream(endpoints.run.path, {method: 'POST', json: body, ...(signal ? {signal} : {})})
    for await (const chunk of chunks) {
      for (const line of splitter.push(chunk)) {
        if (line === '') continue
        const value = parseLine(line)
        if (isErrorLine(value)) throw streamError(value.error)
        yield (await this.checked('run', value)) as RunItem
      }
    }
  }

  private async call<K extends JsonRouteName>(name: K, input: {params?: PathParams<Routes[K]['path']>; body?: unknown; query?: Query | object} = {}): Promise<ResponseOf<Routes[K]>> {
    const {method, path} = endpoints[name]
    const answer = await this.transport.request(method, pathOf(path, (input.params ?? {}) as PathParams<typeof path>), {
      ...(input.body !== undefined ? {json: input.body} : {}),
      ...(input.query ? {query: definedOnly(input.query as Record<string, unknown>)} : {}),
    })
    return (await this.checked(name, answer)) as ResponseOf<Routes[K]>
  }

  /** An answer (or a stream's item) of route `name`: as it came from a server of this version, else checked against its schema. */
  private async checked(name: keyof Routes, value: unknown): Promise<unknown> {
    const version = this.transport.serverVersion
    if (version !== undefined && version === packageVersion() && version !== 'unknown') return value
    const {routes} = await import('../protocol/routes.js')
    const route = routes[name]
    return checkedItem(('response' in route ? route.response : route.item) as z.ZodType, value, `${route.method} ${route.path}`)
  }
}

type JsonRouteName = {[K in keyof Routes]: Routes[K] extends JsonRoute<string, unknown, unknown, unknown> ? K : never}[keyof Routes]

function checkedItem<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value)
  if (parsed.success) return parsed.data
  const problems: Problem[] = parsed.error.issues.slice(0, 10).map((issue) => ({
    ...(issue.path.length > 0 ? {field: issue.path.map(String).join('.')} : {}),
    message: issue.message,
  }))
  throw new LaunchoError('internal', `the server's answer to ${what} is not what this launcho CLI expects`, {
    problems,
    hint: 'the CLI and the server are probably of different versions: compare "launcho --version" with the version "launcho status" shows, and install the same on both',
  })
}

function definedOnly(query: Record<string, unknown>): Query {
  const out: Query = {}
  for (const [key, value] of Object.entries(query)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[key] = value
  }
  return out
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line)
  } catch (error) {
    throw new LaunchoError('internal', 'the server sent an event stream line that is not JSON', {hint: 'check that host in the auth file points at a launcho server', cause: error})
  }
}

function isErrorLine(value: unknown): value is {error: {code: ErrorCode; message: string; hint?: string; problems?: Problem[]}} {
  return typeof value === 'object' && value !== null && 'error' in value
}

function streamError(error: {code: ErrorCode; message: string; hint?: string; problems?: Problem[]}): LaunchoError {
  return new LaunchoError(error.code, error.message, {hint: error.hint, problems: error.problems})
}
