/** GET /v1/status: every process with its instances, the server's own facts and recent events. */
import type {FastifyInstance} from 'fastify'
import {routes} from '../../protocol/routes.js'
import type {StatusReport} from '../../protocol/status.js'
import {serve} from '../route.js'
import type {StatusApi} from '../services.js'

export function registerStatusRoutes(app: FastifyInstance, status: StatusApi): void {
  serve(app, routes.status, async ({query}) => {
    // A bad count falls back to the default rather than failing a read.
    const count = Number(query.events ?? 20)
    const report = await status.status(Number.isInteger(count) && count >= 0 ? Math.min(count, 500) : 20, {usage: !isOff(query.usage)})
    return isOff(query.costs) ? withoutCosts(report) : report
  })
}

/** `0` or `false`: the part is left out; anything else (or nothing) keeps it. */
const isOff = (value: unknown) => value === '0' || value === 'false'

function withoutCosts(report: StatusReport): StatusReport {
  return {...report, processes: report.processes.map((process) => (process.exposure?.costs ? {...process, exposure: {score: process.exposure.score, rating: process.exposure.rating}} : process))}
}
