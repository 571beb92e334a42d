/** GET /v1/status: every process with its instances, the server's own facts and recent events. */
import type {FastifyInstance} from 'fastify'
import {routes} from '../../protocol/routes.js'
import {serve} from '../route.js'
import type {StatusApi} from '../services.js'

export function registerStatusRoutes(app: FastifyInstance, status: StatusApi): void {
  serve(app, routes.status, ({query}) => {
    // A bad count falls back to the default rather than failing a read.
    const count = Number(query.events ?? 20)
    const usage = query.usage !== '0' && query.usage !== 'false'
    return status.status(Number.isInteger(count) && count >= 0 ? Math.min(count, 500) : 20, {usage})
  })
}
