/** Secrets: names are listed freely, values only on explicit request; changes redeploy dependents. */
import type {FastifyInstance} from 'fastify'
import {LaunchoError} from '../../errors.js'
import type {TargetService} from '../../daemon/target-service.js'
import {MAX_SECRET_BYTES} from '../../store/secret-store.js'

export function registerSecretRoutes(app: FastifyInstance, targets: TargetService): void {
  app.get('/v1/secrets', async () => ({names: targets.secretNames()}))

  app.get<{Params: {name: string}}>('/v1/secrets/:name', async (request) => ({
    name: request.params.name,
    value: targets.secretValue(request.params.name),
  }))

  app.put<{Params: {name: string}}>('/v1/secrets/:name', {bodyLimit: MAX_SECRET_BYTES + 4096}, async (request) => {
    const value = (request.body as {value?: unknown} | null)?.value
    if (typeof value !== 'string') throw new LaunchoError('invalid_request', 'the body must be {"value": "<string>"}')
    return {changes: await targets.changeSecrets({[request.params.name]: value})}
  })

  app.delete<{Params: {name: string}}>('/v1/secrets/:name', async (request) => ({
    changes: await targets.changeSecrets({[request.params.name]: undefined}),
  }))
}
