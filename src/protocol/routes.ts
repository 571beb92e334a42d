/**
 * The control API, route by route: method, path, and the types of what goes each way, with zod
 * schemas for what crosses the wire. The server's routes (src/api/routes/*) are registered from
 * these entries and check requests against them; the CLI's client (src/cli/client.ts) builds its
 * calls from them and checks the answers; tests use the same types.
 *
 * Errors are always `{error: {code, message, hint?, problems?}}` (errors.ts). NDJSON routes send
 * one item per line; a failure after the 200 went out arrives as a last `{"error": …}` line.
 */
import {z} from 'zod'
import {endpoints, type Endpoint, type Method} from './endpoints.js'
import {changesResponseSchema, diffResponseSchema} from './changes.js'
import {launchoEventSchema, type EventsQuery} from './events.js'
import {logEntrySchema, type LogsQuery} from './logs.js'
import {historyResponseSchema, releaseDetailSchema} from './releases.js'
import {resourceInfoSchema} from './resources.js'
import {commandsResponseSchema, runBodySchema, runItemSchema} from './run.js'
import {statusReportSchema, type StatusQuery} from './status.js'
import {exportBodySchema, exportResponseSchema, renderBodySchema, renderResponseSchema} from './units.js'

/** A route answering one JSON document. `Query` is what the client may send (the server reads it leniently). */
export interface JsonRoute<Path extends string = string, Body = unknown, Response = unknown, Query = Record<never, never>> {
  readonly method: Method
  readonly path: Path
  /** Absent: the route takes no body. */
  readonly body?: z.ZodType<Body>
  /** How the body must look, for the error that refuses another one. */
  readonly bodyShape?: string
  readonly response: z.ZodType<Response>
  /** Only a type: carries the query's shape to the client. */
  readonly query?: Query
}

/** A route answering NDJSON, one `item` per line, possibly for as long as the client stays. */
export interface NdjsonRoute<Path extends string = string, Item = unknown, Query = Record<never, never>, Body = never> {
  readonly method: 'GET' | 'POST'
  readonly path: Path
  readonly item: z.ZodType<Item>
  readonly query?: Query
  /** A POST's JSON body. */
  readonly body?: z.ZodType<Body>
  readonly bodyShape?: string
}

function json<const Path extends string, Response, Body = never, Query = Record<never, never>>(
  {method, path}: Endpoint<Path>,
  response: z.ZodType<Response>,
  options: {body?: z.ZodType<Body>; bodyShape?: string} = {},
): JsonRoute<Path, Body, Response, Query> {
  return {method, path, response, ...options}
}

function ndjson<const Path extends string, Item, Query>({path}: Endpoint<Path>, item: z.ZodType<Item>): NdjsonRoute<Path, Item, Query> {
  return {method: 'GET', path, item}
}

function ndjsonPost<const Path extends string, Item, Body>({path}: Endpoint<Path>, item: z.ZodType<Item>, body: z.ZodType<Body>, bodyShape: string): NdjsonRoute<Path, Item, Record<never, never>, Body> {
  return {method: 'POST', path, item, body, bodyShape}
}

const targetBody = z.object({text: z.string(), allowEmpty: z.boolean().optional()})
const secretBody = z.object({value: z.string()})
const rollbackBody = z.object({release: z.number().int().positive().optional()})

export const routes = {
  ping: json(endpoints.ping, z.object({ok: z.literal(true), version: z.string()})),
  status: json<(typeof endpoints)['status']['path'], z.infer<typeof statusReportSchema>, never, StatusQuery>(endpoints.status, statusReportSchema),
  /** Past events, then (follow) each new one; `since` resumes after that sequence number. */
  events: ndjson<(typeof endpoints)['events']['path'], z.infer<typeof launchoEventSchema>, EventsQuery>(endpoints.events, launchoEventSchema),

  getTarget: json(endpoints.getTarget, z.object({text: z.string(), isDefault: z.boolean()})),
  setTarget: json(endpoints.setTarget, changesResponseSchema, {body: targetBody, bodyShape: '{"text": "<target YAML>", "allowEmpty": true}'}),
  diffTarget: json(endpoints.diffTarget, diffResponseSchema, {body: targetBody, bodyShape: '{"text": "<target YAML>"}'}),
  /** Unit files of a target (or the current one) as launcho would start them, secrets masked. */
  renderTarget: json(endpoints.renderTarget, renderResponseSchema, {body: renderBodySchema, bodyShape: '{"text": "<target YAML>", "process": "web"} (both optional)'}),
  /** Plain unit files and env files (secrets included) that run the current processes without launcho. */
  exportUnits: json(endpoints.exportUnits, exportResponseSchema, {body: exportBodySchema, bodyShape: '{"envDir": "/abs/dir", "process": "web"}'}),

  listSecrets: json(endpoints.listSecrets, z.object({names: z.array(z.string())})),
  getSecret: json(endpoints.getSecret, z.object({name: z.string(), value: z.string()})),
  setSecret: json(endpoints.setSecret, changesResponseSchema, {body: secretBody, bodyShape: '{"value": "<string>"}'}),
  removeSecret: json(endpoints.removeSecret, changesResponseSchema),

  restart: json(endpoints.restart, changesResponseSchema),
  /** Stops the process and keeps it stopped (target and secret changes, server restarts) until start. */
  stop: json(endpoints.stop, changesResponseSchema),
  start: json(endpoints.start, changesResponseSchema),

  /** Newest first. */
  history: json(endpoints.history, historyResponseSchema),
  release: json(endpoints.release, releaseDetailSchema),
  /** What a rollback to the release would change. */
  diffRelease: json(endpoints.diffRelease, diffResponseSchema),
  /** Without `release`: the newest before the latest that ended serving. */
  rollback: json(endpoints.rollback, changesResponseSchema, {body: rollbackBody, bodyShape: '{"release": 3}'}),

  /** Lines of one process: its current version, or with follow/allVersions every version. */
  processLogs: ndjson<(typeof endpoints)['processLogs']['path'], z.infer<typeof logEntrySchema>, LogsQuery>(endpoints.processLogs, logEntrySchema),
  /** Lines of every process, each marked with its process. */
  allLogs: ndjson<(typeof endpoints)['allLogs']['path'], z.infer<typeof logEntrySchema>, LogsQuery>(endpoints.allLogs, logEntrySchema),

  /** Runs a command in a process's environment (or a named command): its unit, its output, how it ended. */
  run: ndjsonPost(endpoints.run, runItemSchema, runBodySchema, '{"name": "web", "argv": ["sh", "-c", "…"], "detach": false}'),
  /** The target's named commands, as written. */
  commands: json(endpoints.commands, commandsResponseSchema),

  listResources: json(endpoints.listResources, z.object({resources: z.array(resourceInfoSchema)})),
  resource: json(endpoints.resource, resourceInfoSchema),
  removeResource: json(endpoints.removeResource, z.object({removed: z.string()})),
  /** A raw upload (bytes, not JSON); the download, GET /v1/resources/:id/content, is endpoints' RESOURCE_CONTENT_PATH. */
  uploadResource: json(endpoints.uploadResource, resourceInfoSchema),
} as const

export type Routes = typeof routes
export type ResponseOf<R> = R extends JsonRoute<string, unknown, infer Response, unknown> ? Response : never
export type BodyOf<R> = R extends JsonRoute<string, infer Body, unknown, unknown> ? Body : never
export type ItemOf<R> = R extends NdjsonRoute<string, infer Item, unknown, unknown> ? Item : never

export {pathOf, type Method, type PathParams} from './endpoints.js'
