/**
 * GET /v1/target (the text as set) and PUT /v1/target (validate, store, apply):
 * `{"text": "<target YAML>", "allowEmpty": true}`, where a target without processes is refused
 * unless `allowEmpty` is true.
 */
import type {FastifyInstance} from 'fastify'
import {routes} from '../../protocol/routes.js'
import {serve} from '../route.js'
import type {EventFeed, TargetApi} from '../services.js'

export function registerTargetRoutes(app: FastifyInstance, targets: TargetApi, events: EventFeed): void {
  serve(app, routes.getTarget, () => targets.currentText())

  serve(app, routes.setTarget, async ({body}) => {
    // Read before the change: every event it causes comes after this number.
    const eventSeq = events.lastSeq()
    return {...(await targets.setTarget(body.text, {allowEmpty: body.allowEmpty === true})), eventSeq}
  })

  serve(app, routes.diffTarget, async ({body}) => ({changes: await targets.preview(body.text)}))
}
