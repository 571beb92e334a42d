/** GET /v1/status: every process with its instances, the server's own facts and recent events. */
import type {FastifyInstance} from 'fastify'
import type {StatusService} from '../../daemon/status-service.js'

export function registerStatusRoutes(app: FastifyInstance, status: StatusService): void {
  app.get<{Querystring: {events?: string}}>('/v1/status', async (request) => {
    const count = Number(request.query.events ?? 20)
    return status.status(Number.isInteger(count) && count >= 0 ? Math.min(count, 500) : 20)
  })
}
