/**
 * A process that lives in a test's private network namespace (started by netns.ts under
 * `unshare --net`) and does the networking there on request over the IPC channel: tiny HTTP
 * backends that answer with their name, and clients that tally who answered. Every request it
 * makes goes to an address inside its own namespace.
 */
import {execFileSync} from 'node:child_process'
import http from 'node:http'
import net from 'node:net'

export type AgentRequest =
  | {op: 'listen'; name: string; port: number; host?: string; reset?: boolean}
  | {op: 'tally'; host: string; port: number; n: number}
  | {op: 'get'; host: string; port: number; localPort?: number}
  | {op: 'hold'; host: string; port: number}
  | {op: 'release'}
  | {op: 'loop-start'; host: string; port: number}
  | {op: 'loop-stop'}

export interface Answer {
  body?: string
  reused?: boolean
  error?: string
  ms: number
}

export interface Tally {
  counts: Record<string, number>
  failures: string[]
}

const servers: net.Server[] = []
let held: http.Agent | undefined
let loop: {running: boolean; done: Promise<void>; tally: Tally} | undefined

function get(host: string, port: number, agent: http.Agent | false = false, localPort?: number): Promise<Answer> {
  const started = Date.now()
  return new Promise((resolve) => {
    const request = http.get({host, port, agent, timeout: 3_000, ...(localPort ? {localPort} : {})}, (response) => {
      let body = ''
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
      response.on('end', () => resolve({body, reused: request.reusedSocket, ms: Date.now() - started}))
    })
    request.on('timeout', () => request.destroy(new Error('timed out')))
    request.on('error', (error: NodeJS.ErrnoException) => resolve({error: error.code ?? error.message, ms: Date.now() - started}))
  })
}

function count(tally: Tally, answer: Answer): void {
  if (answer.body !== undefined) tally.counts[answer.body] = (tally.counts[answer.body] ?? 0) + 1
  else tally.failures.push(answer.error ?? 'unknown')
}

async function handle(request: AgentRequest): Promise<unknown> {
  switch (request.op) {
    case 'listen': {
      // reset: a backend that ends every connection it accepts with a TCP reset.
      const server = request.reset ? net.createServer((socket) => socket.resetAndDestroy()) : http.createServer((_req, res) => res.end(request.name))
      if (server instanceof http.Server) server.keepAliveTimeout = 60_000
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(request.port, request.host ?? '127.0.0.1', resolve))
      servers.push(server)
      return null
    }
    case 'tally': {
      const tally: Tally = {counts: {}, failures: []}
      for (let i = 0; i < request.n; i++) count(tally, await get(request.host, request.port))
      return tally
    }
    case 'get':
      return get(request.host, request.port, false, request.localPort)
    case 'hold':
      held ??= new http.Agent({keepAlive: true, maxSockets: 1})
      return get(request.host, request.port, held)
    case 'release':
      held?.destroy()
      held = undefined
      return null
    case 'loop-start': {
      const state = {running: true, tally: {counts: {}, failures: []} as Tally, done: Promise.resolve()}
      state.done = (async () => {
        // Bounded: stops on loop-stop, or by itself after 30 s.
        const deadline = Date.now() + 30_000
        while (state.running && Date.now() < deadline) count(state.tally, await get(request.host, request.port))
      })()
      loop = state
      return null
    }
    case 'loop-stop': {
      if (!loop) throw new Error('no loop running')
      loop.running = false
      await loop.done
      const {tally} = loop
      loop = undefined
      return tally
    }
  }
}

execFileSync('ip', ['link', 'set', 'lo', 'up'])
process.on('message', (message: {id: number; request: AgentRequest}) => {
  handle(message.request).then(
    (result) => process.send?.({id: message.id, result}),
    (error: Error) => process.send?.({id: message.id, error: error.message}),
  )
})
// The test going away (IPC closed) ends the agent, and with it the namespace.
process.on('disconnect', () => process.exit(0))
process.send?.({ready: true})
