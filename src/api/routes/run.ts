/**
 * POST /v1/run — a command in a process's environment, as NDJSON: `{started}`, then its output as
 * base64 chunks (`{stdout}`, `{stderr}`, only as fast as the client reads: a slow reader holds the
 * command back, nothing piles up in the server), then `{exit}` once its output is all sent. The
 * client going away (Ctrl-C, a closed pipe) stops the run. With `detach` the answer ends after
 * `{started}` and the run goes on, its output in the journal. GET /v1/commands lists named commands.
 */
import type {FastifyInstance, FastifyReply, FastifyRequest} from 'fastify'
import type {Socket} from 'node:net'
import {routes} from '../../protocol/routes.js'
import type {RunItem} from '../../protocol/run.js'
import {serve, serveStream} from '../route.js'
import {allowIdleStream, errorReply} from '../server.js'
import type {RunApi} from '../services.js'

export function registerRunRoutes(app: FastifyInstance, runs: RunApi): void {
  serve(app, routes.commands, () => runs.commands())
  serveStream(app, routes.run, async ({body, request, reply}) => {
    const run = await runs.start(body)
    allowIdleStream(request)
    reply.hijack()
    const out = reply.raw
    out.writeHead(200, {'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store'})
    const write = (item: RunItem | {error: unknown}) => out.write(`${JSON.stringify(item)}\n`)
    write({started: {unit: run.unit, process: run.process, detached: run.output === undefined}})
    if (!run.output) {
      out.end()
      return
    }
    const output = run.output
    const gone = () => {
      run.stop()
      // Nobody reads any more: let go of the FIFOs (the command, being stopped, may get EPIPE).
      output.close()
    }
    out.once('close', gone)
    forward(run.output.stdout, 'stdout', out, [run.output.stdout, run.output.stderr])
    forward(run.output.stderr, 'stderr', out, [run.output.stdout, run.output.stderr])
    const end = await run.ended
    await run.output.ended()
    out.off('close', gone)
    if (out.destroyed) return
    if ('exit' in end) write({exit: end.exit})
    else write({error: errorBodyOf(request, new Error(`lost sight of the run ${run.unit}: ${end.lost}`))})
    out.end()
  })
}

/** Each chunk as one line; while the client's side is full, both streams wait (the command blocks on its pipe). */
function forward(socket: Socket, stream: 'stdout' | 'stderr', out: FastifyReply['raw'], both: Socket[]): void {
  socket.on('data', (chunk: Buffer) => {
    if (out.destroyed) return
    const line = stream === 'stdout' ? {stdout: chunk.toString('base64')} : {stderr: chunk.toString('base64')}
    if (!out.write(`${JSON.stringify(line)}\n`)) {
      for (const s of both) s.pause()
      out.once('drain', () => both.forEach((s) => s.resume()))
    }
  })
  socket.on('error', () => undefined)
}

function errorBodyOf(request: FastifyRequest, error: unknown) {
  const {status, body} = errorReply(error)
  if (status >= 500) request.log.error({code: body.code, msg: body.message}, 'run stream failed')
  return body
}
