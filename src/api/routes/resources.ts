/**
 * Resources over the API. Uploads and downloads stream: the upload route takes the raw body as
 * `application/octet-stream` (no JSON, no buffering) with the expected SHA-256 in a header.
 * Every `:id` is a full id or a unique prefix of at least 8 hex digits, checked before any path
 * is built from it.
 *
 *   GET    /v1/resources               {resources: [{id, name, size, uploadedAt, usedBy}]}
 *   PUT    /v1/resources               body: the bytes; x-launcho-sha256 (required), x-launcho-name
 *                                      (percent-encoded UTF-8) → 201 created / 200 already stored
 *   GET    /v1/resources/:id           {id, name, size, uploadedAt, usedBy}
 *   GET    /v1/resources/:id/content   the bytes, with content-length and x-launcho-sha256
 *   DELETE /v1/resources/:id           {removed: id}; 409 while the target uses it
 */
import {Readable} from 'node:stream'
import type {FastifyInstance, FastifyRequest} from 'fastify'
import {LaunchoError} from '../../errors.js'
import {NAME_HEADER, SHA256_HEADER} from '../../protocol/resources.js'
import {MAX_RESOURCE_BYTES, type ResourceInfo, type ResourceStore} from '../../store/resource-store.js'

export {NAME_HEADER, SHA256_HEADER} from '../../protocol/resources.js'
const MAX_NAME_CHARS = 255

/** What the target says about removing resources. */
export interface ResourceGuard {
  /** Full resource id → names of the processes using it (a target's prefixes are resolved when it is set). */
  users(): Map<string, string[]>
  /** Runs `remove` unless the target uses `id` (then refused with `conflict`), never during a target change. */
  remove(id: string, remove: () => Promise<void>): Promise<void>
}

export function registerResourceRoutes(app: FastifyInstance, store: ResourceStore, guard: ResourceGuard): void {
  const withUsers = (info: ResourceInfo) => ({...info, usedBy: usersOf(info.id, guard.users())})

  // Encapsulated so that the raw-stream body parser applies to these routes only.
  void app.register(async (scope) => {
    // Only raw bytes: any other body (JSON included) is refused before a byte of it is buffered.
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload))
    scope.addContentTypeParser('*', (request, _payload, done) => done(wrongBody(request.headers['content-type'])))

    scope.get('/v1/resources', async () => ({resources: (await store.list()).map(withUsers)}))

    scope.get<{Params: {id: string}}>('/v1/resources/:id', async (request) => withUsers(await store.info(await store.resolve(request.params.id))))

    // No automatic HEAD: fastify would read the whole file to discard it; HEAD /v1/resources/:id answers.
    scope.get<{Params: {id: string}}>('/v1/resources/:id/content', {exposeHeadRoute: false}, async (request, reply) => {
      const {info, stream} = await store.get(await store.resolve(request.params.id))
      return reply
        .type('application/octet-stream')
        .header('content-length', info.size)
        .header(SHA256_HEADER, info.id)
        .send(stream)
    })

    scope.put('/v1/resources', async (request, reply) => {
      try {
        const declared = {sha256: singleHeader(request, SHA256_HEADER) ?? missingHash(), name: nameFrom(request)}
        if (Number(request.headers['content-length']) > MAX_RESOURCE_BYTES) {
          throw new LaunchoError('payload_too_large', `resources are at most ${MAX_RESOURCE_BYTES} bytes`, {hint: 'split the data into several resources'})
        }
        // Fastify parses no body when it is empty; an empty file is still a resource.
        const body = request.body instanceof Readable ? request.body : request.headers['content-length'] === '0' ? Readable.from([]) : undefined
        if (body === undefined) throw wrongBody(request.headers['content-type'])
        const {info, created} = await store.put(body, declared)
        request.log.info({id: info.id, size: info.size, created}, created ? 'resource stored' : 'resource already stored')
        return reply.code(created ? 201 : 200).send(withUsers(info))
      } catch (error) {
        // Refused before the body was read: do not make the client send the rest of a big file.
        reply.header('connection', 'close')
        throw error
      }
    })

    scope.delete<{Params: {id: string}}>('/v1/resources/:id', async (request) => {
      const id = await store.resolve(request.params.id)
      await guard.remove(id, () => store.remove(id))
      request.log.info({id}, 'resource removed')
      return {removed: id}
    })
  })
}

/**
 * Exact ids only: a prefix in the target was resolved to one full id when the target was set, so a
 * later upload that shares the prefix is not "used" and can be removed.
 */
export function usersOf(id: string, users: Map<string, string[]>): string[] {
  return [...new Set(users.get(id) ?? [])].sort()
}

function wrongBody(contentType: string | undefined): LaunchoError {
  return new LaunchoError('invalid_request', `resource uploads take the raw bytes as "content-type: application/octet-stream", not ${contentType ? `"${contentType.slice(0, 80)}"` : 'an empty body'}`, {
    hint: 'use "launcho resource up FILE"',
  })
}

function singleHeader(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name]
  if (Array.isArray(value)) throw new LaunchoError('invalid_request', `send the ${name} header once`)
  return value
}

function missingHash(): never {
  throw new LaunchoError('invalid_request', `the ${SHA256_HEADER} header is missing`, {
    hint: `send the SHA-256 of the content as 64 lowercase hex digits in ${SHA256_HEADER}; "launcho resource up FILE" does this`,
  })
}

/** Header values are bytes, not text: names travel percent-encoded so any UTF-8 survives. */
function nameFrom(request: FastifyRequest): string {
  const raw = singleHeader(request, NAME_HEADER) ?? ''
  const hint = `send the name percent-encoded as UTF-8 (encodeURIComponent), at most ${MAX_NAME_CHARS} characters, without control characters`
  let name: string
  try {
    if (!/^[\x21-\x7e]*$/.test(raw)) throw new Error('not percent-encoded')
    name = decodeURIComponent(raw)
  } catch {
    throw new LaunchoError('invalid_request', `the ${NAME_HEADER} header is not percent-encoded UTF-8`, {hint})
  }
  if (name.length > MAX_NAME_CHARS || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new LaunchoError('invalid_request', `invalid resource name ${JSON.stringify(name.slice(0, 80))}`, {hint})
  }
  return name
}
