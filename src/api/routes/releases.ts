/** Releases: GET /v1/releases (history), GET /v1/releases/:number, its diff, and POST /v1/rollback. */
import type {FastifyInstance} from 'fastify'
import {LaunchoError} from '../../errors.js'
import {routes} from '../../protocol/routes.js'
import {serve} from '../route.js'
import type {EventFeed, ReleaseApi} from '../services.js'

/** `settle`: brings the latest release's verdict up to date before a read of the releases answers. */
export function registerReleaseRoutes(app: FastifyInstance, releases: ReleaseApi, events: EventFeed, settle: () => Promise<void> = async () => {}): void {
  serve(app, routes.history, async () => {
    await settle()
    return releases.history()
  })
  serve(app, routes.release, async ({params}) => {
    await settle()
    return releases.release(releaseNumber(params.number))
  })
  serve(app, routes.diffRelease, async ({params}) => ({changes: await releases.previewRelease(releaseNumber(params.number))}))
  serve(app, routes.rollback, async ({body}) => {
    const eventSeq = events.lastSeq()
    return {...(await releases.rollback(body.release)), eventSeq}
  })
}

function releaseNumber(text: string): number {
  if (!/^[1-9]\d{0,8}$/.test(text)) {
    throw new LaunchoError('invalid_request', `"${text.slice(0, 20)}" is not a release number`, {hint: 'launcho history lists the releases by number'})
  }
  return Number(text)
}
