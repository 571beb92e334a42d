/** Per-process actions: POST /v1/processes/:name/restart. */
import type {FastifyInstance} from 'fastify'
import {LaunchoError} from '../../errors.js'
import {routes} from '../../protocol/routes.js'
import {serve} from '../route.js'
import type {EventFeed, ProcessApi} from '../services.js'

const PROCESS_NAME = /^[a-z0-9-]{1,63}$/

export function registerProcessRoutes(app: FastifyInstance, processes: ProcessApi, events: EventFeed): void {
  serve(app, routes.restart, async ({params}) => {
    if (!PROCESS_NAME.test(params.name)) {
      throw new LaunchoError('invalid_request', 'process names are lowercase letters, digits and "-"', {
        hint: 'launcho status lists the processes',
      })
    }
    const eventSeq = events.lastSeq()
    return {changes: await processes.restart(params.name), eventSeq}
  })
}
