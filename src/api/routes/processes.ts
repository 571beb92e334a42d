/** Per-process actions: POST /v1/processes/:name/restart. */
import type {FastifyInstance} from 'fastify'
import {LaunchoError} from '../../errors.js'
import type {TargetService} from '../../daemon/target-service.js'

const PROCESS_NAME = /^[a-z0-9-]{1,63}$/

export function registerProcessRoutes(app: FastifyInstance, targets: TargetService): void {
  app.post<{Params: {name: string}}>('/v1/processes/:name/restart', async (request) => {
    const {name} = request.params
    if (!PROCESS_NAME.test(name)) {
      throw new LaunchoError('invalid_request', 'process names are lowercase letters, digits and "-"', {
        hint: 'launcho status lists the processes',
      })
    }
    return {changes: await targets.restart(name)}
  })
}
