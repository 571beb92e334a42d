/** POST /v1/target/render and POST /v1/export: the units of the target as files. */
import type {FastifyInstance} from 'fastify'
import {routes} from '../../protocol/routes.js'
import {serve} from '../route.js'
import type {UnitApi} from '../services.js'

export function registerUnitRoutes(app: FastifyInstance, units: UnitApi): void {
  serve(app, routes.renderTarget, ({body}) => units.render(body))
  serve(app, routes.exportUnits, ({body}) => units.export(body))
}
