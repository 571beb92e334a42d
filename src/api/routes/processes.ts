/** Per-process actions: POST /v1/processes/:name/restart, /stop and /start. */
import type {FastifyInstance} from 'fastify'
import {LaunchoError} from '../../errors.js'
import {routes} from '../../protocol/routes.js'
import {serve} from '../route.js'
import type {EventFeed, ProcessApi} from '../services.js'

const PROCESS_NAME = /^[a-z0-9-]{1,63}$/

export function registerProcessRoutes(app: FastifyInstance, processes: ProcessApi, events: EventFeed): void {
  for (const [route, act] of [
    [routes.restart, (name: string) => processes.restart(name)],
    [routes.stop, (name: string) => processes.stop(name)],
    [routes.start, (name: string) => processes.start(name)],
  ] as const) {
    serve(app, route, async ({params}) => {
      if (!PROCESS_NAME.test(params.name)) {
        throw new LaunchoError('invalid_request', 'process names are lowercase letters, digits and "-"', {
          hint: 'launcho status lists the processes',
        })
      }
      const eventSeq = events.lastSeq()
      return {...(await act(params.name)), eventSeq}
    })
  }
}
