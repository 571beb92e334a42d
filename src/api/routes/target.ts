/**
 * GET /v1/target (the text as set) and PUT /v1/target (validate, store, apply):
 * `{"text": "<target YAML>", "allowEmpty": true}`, where a target without processes is refused
 * unless `allowEmpty` is true.
 */
import type {FastifyInstance} from 'fastify'
import {LaunchoError} from '../../errors.js'
import type {TargetService} from '../../daemon/target-service.js'

export function registerTargetRoutes(app: FastifyInstance, targets: TargetService): void {
  app.get('/v1/target', async () => targets.currentText())

  app.put('/v1/target', async (request) => ({changes: await targets.setTarget(targetText(request.body), {allowEmpty: allowEmpty(request.body)})}))

  app.post('/v1/target/diff', async (request) => ({changes: await targets.preview(targetText(request.body))}))
}

function targetText(body: unknown): string {
  const text = (body as {text?: unknown} | null)?.text
  if (typeof text !== 'string') {
    throw new LaunchoError('invalid_request', 'the body must be {"text": "<target YAML>"}')
  }
  return text
}

function allowEmpty(body: unknown): boolean {
  const value = (body as {allowEmpty?: unknown} | null)?.allowEmpty
  if (value !== undefined && typeof value !== 'boolean') {
    throw new LaunchoError('invalid_request', '"allowEmpty" must be true or false')
  }
  return value === true
}
