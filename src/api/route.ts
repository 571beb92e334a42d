/**
 * Registers the protocol's routes (src/protocol/routes.ts) on fastify: the method and path come
 * from the route, a JSON body is checked against its schema before the handler runs, and the
 * handler must answer the route's response type.
 */
import type {FastifyInstance, FastifyReply, FastifyRequest} from 'fastify'
import type {z} from 'zod'
import {LaunchoError, type Problem} from '../errors.js'
import type {BodyOf, JsonRoute, NdjsonRoute, PathParams, ResponseOf} from '../protocol/routes.js'

export interface RouteInput<R extends JsonRoute> {
  params: PathParams<R['path']>
  /** Query values as sent; each route reads its own leniently or refuses them. */
  query: Record<string, unknown>
  body: BodyOf<R>
  request: FastifyRequest
  reply: FastifyReply
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyJsonRoute = JsonRoute<string, any, any, any>

export function serve<R extends AnyJsonRoute>(
  app: FastifyInstance,
  route: R,
  handler: (input: RouteInput<R>) => Promise<ResponseOf<R>> | ResponseOf<R>,
  options: {bodyLimit?: number} = {},
): void {
  app.route({
    method: route.method,
    url: route.path,
    ...(options.bodyLimit !== undefined ? {bodyLimit: options.bodyLimit} : {}),
    handler: async (request, reply) => {
      const body = route.body ? bodyOf(route, request.body) : undefined
      return handler({params: request.params as PathParams<R['path']>, query: (request.query ?? {}) as Record<string, unknown>, body: body as BodyOf<R>, request, reply})
    },
  })
}

type StreamBodyOf<R> = R extends NdjsonRoute<string, unknown, unknown, infer Body> ? Body : never

/** An NDJSON route: the handler writes the stream itself (see routes/logs.ts, routes/events.ts, routes/run.ts). */
export function serveStream<R extends NdjsonRoute<string, unknown, unknown, unknown>>(
  app: FastifyInstance,
  route: R,
  handler: (input: {params: PathParams<R['path']>; query: Record<string, unknown>; body: StreamBodyOf<R>; request: FastifyRequest; reply: FastifyReply}) => Promise<void>,
): void {
  app.route({
    method: route.method,
    url: route.path,
    handler: async (request, reply) => {
      const body = route.body ? bodyOf(route as unknown as AnyJsonRoute, request.body) : undefined
      await handler({params: request.params as PathParams<R['path']>, query: (request.query ?? {}) as Record<string, unknown>, body: body as StreamBodyOf<R>, request, reply})
    },
  })
}

function bodyOf(route: AnyJsonRoute, body: unknown): unknown {
  const parsed = (route.body as z.ZodType).safeParse(body ?? undefined)
  if (parsed.success) return parsed.data
  const problems: Problem[] = parsed.error.issues.map((issue) => ({
    ...(issue.path.length > 0 ? {field: issue.path.map(String).join('.')} : {}),
    message: issue.message,
  }))
  throw new LaunchoError('invalid_request', route.bodyShape ? `the body must be ${route.bodyShape}` : 'invalid request body', {problems})
}
