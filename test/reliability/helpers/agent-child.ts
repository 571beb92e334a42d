/**
 * The network half of the reliability suite's agent (agent.ts starts it under `nsenter --net`
 * into the sandbox's network namespace, with the host's filesystem and PID namespace). It does,
 * on request over the IPC channel: HTTPS requests (optionally on a warmed keep-alive connection,
 * optionally killing a PID a set time after the request went out), raw bytes over TLS (for
 * what no HTTP client would send), TLS handshakes with chosen versions and ciphers, and bounded
 * slowloris sockets. Every connection goes to 127.0.0.1 inside that namespace.
 */
import {readFileSync} from 'node:fs'
import {Agent, request as httpsRequest} from 'node:https'
import {connect as netConnect} from 'node:net'
import {connect as tlsConnect, type ConnectionOptions} from 'node:tls'

export type ChildRequest =
  | {op: 'request'; req: HttpsCall}
  | {op: 'raw'; port: number; bytes: string; timeoutMs?: number}
  | {op: 'tls'; port: number; options: {minVersion?: string; maxVersion?: string; ciphers?: string}}
  | {op: 'slowloris'; port: number; sockets: number; seconds: number; intervalMs: number; mode?: SlowMode}
  | {op: 'warm'; port: number; ca: string; token: string}

/**
 * header: a request line, then one header byte per interval (never finishing the headers).
 * body: complete headers without a token for a 1 MB body, then one body byte per interval.
 * silent: TCP connect, then nothing at all (not even a TLS ClientHello).
 * tls-silent: a complete TLS handshake, then nothing.
 * half-line: a TLS handshake and half a header line, then nothing.
 * late-hello: TCP connect, the TLS handshake only after `intervalMs`, then nothing.
 */
export type SlowMode = 'header' | 'body' | 'silent' | 'tls-silent' | 'half-line' | 'late-hello'

export interface HttpsCall {
  port: number
  method: string
  path: string
  headers?: Record<string, string | number>
  /** base64 */
  body?: string
  /** a file whose bytes are the body (large uploads) */
  bodyFile?: string
  ca?: string
  /** Use the keep-alive connection opened by `warm` (the request goes out without a handshake). */
  warm?: boolean
  timeoutMs?: number
  /** SIGKILL this PID `killAfterMs` after the request started. */
  kill?: {pid: number; afterMs: number}
}

export interface HttpsAnswer {
  status?: number
  headers?: Record<string, string | string[] | undefined>
  /** base64 */
  body?: string
  error?: string
  ms: number
  /** ms after the start when the kill was sent, if it was */
  killedAtMs?: number
  /** ms after the start when the response was complete, if it was */
  answeredAtMs?: number
}

let warmAgent: Agent | undefined

function call(req: HttpsCall): Promise<HttpsAnswer> {
  const started = performance.now()
  const since = () => Math.round((performance.now() - started) * 10) / 10
  return new Promise((resolve) => {
    let killedAtMs: number | undefined
    let killTimer: NodeJS.Timeout | undefined
    if (req.kill) {
      const {pid, afterMs} = req.kill
      killTimer = setTimeout(() => {
        try {
          process.kill(pid, 'SIGKILL')
          killedAtMs = since()
        } catch {
          // already gone
        }
      }, afterMs)
    }
    const finish = (answer: Omit<HttpsAnswer, 'ms' | 'killedAtMs'>) => {
      // The kill still happens at its time: the server must survive a kill right after answering too.
      const done = () => resolve({...answer, ms: since(), ...(killedAtMs !== undefined ? {killedAtMs} : {})})
      if (killTimer && killedAtMs === undefined && req.kill) {
        const left = req.kill.afterMs - since()
        setTimeout(done, Math.max(0, left) + 5)
      } else done()
    }
    const r = httpsRequest(
      {
        host: '127.0.0.1',
        port: req.port,
        method: req.method,
        path: req.path,
        headers: req.headers,
        agent: req.warm ? warmAgent : false,
        ...(req.ca ? {ca: req.ca, checkServerIdentity: () => undefined} : {rejectUnauthorized: false}),
        timeout: req.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const answeredAtMs = since()
          finish({status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('base64'), answeredAtMs})
        })
        res.on('error', (e: NodeJS.ErrnoException) => finish({error: e.code ?? e.message}))
      },
    )
    r.on('timeout', () => r.destroy(Object.assign(new Error('timeout'), {code: 'ETIMEDOUT'})))
    r.on('error', (e: NodeJS.ErrnoException) => finish({error: e.code ?? e.message}))
    if (req.bodyFile) r.end(readFileSync(req.bodyFile))
    else r.end(req.body === undefined ? undefined : Buffer.from(req.body, 'base64'))
  })
}

/** Writes raw bytes over TLS and returns whatever comes back until the server closes (or timeout). */
function raw(port: number, bytes: Buffer, timeoutMs: number): Promise<{reply: string; closed: boolean; error?: string}> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    const socket = tlsConnect({host: '127.0.0.1', port, rejectUnauthorized: false})
    const timer = setTimeout(() => {
      socket.destroy()
      resolve({reply: Buffer.concat(chunks).toString('latin1'), closed: false})
    }, timeoutMs)
    socket.once('secureConnect', () => socket.write(bytes))
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      resolve({reply: Buffer.concat(chunks).toString('latin1'), closed: true, error: e.code ?? e.message})
    })
    socket.on('close', () => {
      clearTimeout(timer)
      resolve({reply: Buffer.concat(chunks).toString('latin1'), closed: true})
    })
  })
}

function handshake(port: number, options: ConnectionOptions): Promise<{ok: boolean; protocol?: string; cipher?: string; error?: string}> {
  return new Promise((resolve) => {
    const socket = tlsConnect({host: '127.0.0.1', port, rejectUnauthorized: false, ...options})
    const timer = setTimeout(() => {
      socket.destroy()
      resolve({ok: false, error: 'timeout'})
    }, 5_000)
    socket.once('secureConnect', () => {
      clearTimeout(timer)
      const result = {ok: true, protocol: socket.getProtocol() ?? undefined, cipher: socket.getCipher()?.name}
      socket.destroy()
      resolve(result)
    })
    socket.once('error', (e: Error & {code?: string}) => {
      clearTimeout(timer)
      resolve({ok: false, error: `${e.code ?? ''} ${e.message}`.trim()})
    })
  })
}

/**
 * `sockets` TLS connections that each send a request line and then one header byte every
 * `intervalMs`, for `seconds`. Reports, per socket, when (ms) the server closed it, if it did.
 */
async function slowloris(port: number, sockets: number, seconds: number, intervalMs: number, mode: SlowMode = 'header') {
  const started = Date.now()
  const closedAt: Array<number | null> = new Array(sockets).fill(null)
  const answers: string[] = []
  let handshaken = 0
  const all = Array.from({length: sockets}, (_, i) =>
    new Promise<void>((resolve) => {
      const plain = mode === 'silent' || mode === 'late-hello'
      const socket = plain ? netConnect({host: '127.0.0.1', port}) : tlsConnect({host: '127.0.0.1', port, rejectUnauthorized: false})
      let timer: NodeJS.Timeout | undefined
      const end = setTimeout(() => {
        clearInterval(timer)
        socket.destroy()
        resolve()
      }, seconds * 1000)
      if (mode === 'late-hello') {
        socket.once('connect', () => {
          timer = setTimeout(() => {
            const secure = tlsConnect({socket, rejectUnauthorized: false})
            secure.once('secureConnect', () => handshaken++)
            secure.on('error', () => {})
            secure.resume()
          }, intervalMs)
        })
      }
      socket.once(plain ? 'connect' : 'secureConnect', () => {
        if (mode === 'late-hello') return
        handshaken++
        if (mode === 'silent' || mode === 'tls-silent') return
        if (mode === 'half-line') {
          socket.write('GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-Half: ab')
          return
        }
        socket.write(mode === 'header' ? 'GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-Slow: ' : 'PUT /v1/target HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{')
        timer = setInterval(() => socket.write(mode === 'header' ? 'a' : ' '), intervalMs)
      })
      if (mode !== 'late-hello') {
        socket.on('data', (chunk: Buffer) => {
          const status = /^HTTP\/1\.1 (\d{3})/.exec(chunk.toString('latin1'))?.[1]
          if (status) answers.push(status)
        })
      }
      socket.on('error', () => {})
      socket.on('close', () => {
        if (closedAt[i] === null && Date.now() - started < seconds * 1000) closedAt[i] = Date.now() - started
        clearInterval(timer)
        clearTimeout(end)
        resolve()
      })
    }),
  )
  await Promise.all(all)
  return {handshaken, closedAt, answers}
}

async function handle(message: ChildRequest): Promise<unknown> {
  switch (message.op) {
    case 'request':
      return call(message.req)
    case 'raw':
      return raw(message.port, Buffer.from(message.bytes, 'base64'), message.timeoutMs ?? 5_000)
    case 'tls':
      return handshake(message.port, message.options as ConnectionOptions)
    case 'slowloris':
      return slowloris(message.port, message.sockets, message.seconds, message.intervalMs, message.mode)
    case 'warm': {
      warmAgent?.destroy()
      warmAgent = new Agent({keepAlive: true, maxSockets: 1, keepAliveMsecs: 1_000})
      return call({port: message.port, method: 'GET', path: '/v1/ping', headers: {authorization: `Bearer ${message.token}`}, ca: message.ca, warm: true})
    }
  }
}

process.on('message', (message: {id: number; request: ChildRequest}) => {
  handle(message.request).then(
    (result) => process.send!({id: message.id, result}),
    (error: Error) => process.send!({id: message.id, error: error.message}),
  )
})
process.on('disconnect', () => process.exit(0))
process.send!({ready: true})
