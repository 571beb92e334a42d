/**
 * Where each route of the control API lives: its method and path, with no schema. routes.ts adds
 * the zod schemas of what crosses the wire (the server checks requests with them); the CLI's
 * client builds its calls from this module alone, since zod's modules would cost every CLI call
 * ~50 ms of start-up, and checks an answer against the schemas only when the server is of
 * another version than itself (src/cli/client.ts).
 */
export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE'

export interface Endpoint<Path extends string = string> {
  readonly method: Method
  readonly path: Path
}

const at = <const Path extends string>(method: Method, path: Path): Endpoint<Path> => ({method, path})

export const endpoints = {
  ping: at('GET', '/v1/ping'),
  status: at('GET', '/v1/status'),
  events: at('GET', '/v1/events'),
  getTarget: at('GET', '/v1/target'),
  setTarget: at('PUT', '/v1/target'),
  diffTarget: at('POST', '/v1/target/diff'),
  renderTarget: at('POST', '/v1/target/render'),
  exportUnits: at('POST', '/v1/export'),
  listSecrets: at('GET', '/v1/secrets'),
  getSecret: at('GET', '/v1/secrets/:name'),
  setSecret: at('PUT', '/v1/secrets/:name'),
  removeSecret: at('DELETE', '/v1/secrets/:name'),
  restart: at('POST', '/v1/processes/:name/restart'),
  stop: at('POST', '/v1/processes/:name/stop'),
  start: at('POST', '/v1/processes/:name/start'),
  history: at('GET', '/v1/releases'),
  release: at('GET', '/v1/releases/:number'),
  diffRelease: at('GET', '/v1/releases/:number/diff'),
  rollback: at('POST', '/v1/rollback'),
  processLogs: at('GET', '/v1/logs/:process'),
  allLogs: at('GET', '/v1/logs'),
  run: at('POST', '/v1/run'),
  commands: at('GET', '/v1/commands'),
  listResources: at('GET', '/v1/resources'),
  resource: at('GET', '/v1/resources/:id'),
  removeResource: at('DELETE', '/v1/resources/:id'),
  uploadResource: at('PUT', '/v1/resources'),
} as const

/** Raw route (bytes, not JSON): GET /v1/resources/:id/content. */
export const RESOURCE_CONTENT_PATH = '/v1/resources/:id/content'

/** A resource upload's declared content hash and file name. */
export const SHA256_HEADER = 'x-launcho-sha256'
export const NAME_HEADER = 'x-launcho-name'

/** The header every answer of the server carries: its launcho version. */
export const VERSION_HEADER = 'launcho-version'

/** `'/v1/secrets/:name'` → `{name: string}`. */
export type PathParams<Path extends string> = Path extends `${string}:${infer Param}/${infer Rest}`
  ? {[K in Param]: string} & PathParams<`/${Rest}`>
  : Path extends `${string}:${infer Param}`
    ? {[K in Param]: string}
    : Record<never, never>

/** `'/v1/secrets/:name'` with `{name: 'A B'}` → `'/v1/secrets/A%20B'`. */
export function pathOf<Path extends string>(path: Path, params: PathParams<Path>): string {
  return path.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent((params as Record<string, string>)[name] ?? ''))
}
