/** Secrets: names are listed freely, values only on explicit request; changes redeploy dependents. */
import type {FastifyInstance} from 'fastify'
import {routes} from '../../protocol/routes.js'
import {MAX_SECRET_BYTES} from '../../store/secret-store.js'
import {serve} from '../route.js'
import type {EventFeed, SecretApi} from '../services.js'

export function registerSecretRoutes(app: FastifyInstance, secrets: SecretApi, events: EventFeed): void {
  serve(app, routes.listSecrets, () => ({names: secrets.secretNames()}))

  serve(app, routes.getSecret, ({params}) => ({name: params.name, value: secrets.secretValue(params.name)}))

  serve(
    app,
    routes.setSecret,
    async ({params, body}) => {
      const eventSeq = events.lastSeq()
      return {...(await secrets.changeSecrets({[params.name]: body.value})), eventSeq}
    },
    {bodyLimit: MAX_SECRET_BYTES + 4096},
  )

  serve(app, routes.removeSecret, async ({params}) => {
    const eventSeq = events.lastSeq()
    return {...(await secrets.changeSecrets({[params.name]: undefined})), eventSeq}
  })
}
