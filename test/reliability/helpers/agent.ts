/**
 * A long-lived helper process inside the sandbox's network namespace (see agent-child.ts), so the
 * reliability tests can make many HTTPS requests, raw TLS writes and handshakes against the server
 * under test without paying a process start per request, and can time a server kill precisely.
 */
import {readFile} from 'node:fs/promises'
import {fileURLToPath} from 'node:url'
import type {Harness} from '../../helpers/harness.js'
import {IpcChild} from '../../helpers/ipc-child.js'
import type {ChildRequest, HttpsAnswer, HttpsCall, SlowMode} from './agent-child.js'

const childPath = fileURLToPath(new URL('./agent-child.js', import.meta.url))

export interface Answer {
  status?: number
  headers?: Record<string, string | string[] | undefined>
  body: Buffer
  text: string
  error?: string
  ms: number
  killedAtMs?: number
  answeredAtMs?: number
}

export class NetAgent {
  private constructor(private readonly agent: IpcChild<ChildRequest>) {}

  static async start(netns: string): Promise<NetAgent> {
    return new NetAgent(await IpcChild.start<ChildRequest>('nsenter', [`--net=${netns}`, '--', process.execPath, childPath]))
  }

  async request(call: Omit<HttpsCall, 'body'> & {body?: Buffer | string}): Promise<Answer> {
    const {body, ...rest} = call
    const answer = (await this.ask({op: 'request', req: {...rest, ...(body !== undefined ? {body: Buffer.from(body).toString('base64')} : {})}})) as HttpsAnswer
    const bytes = Buffer.from(answer.body ?? '', 'base64')
    return {...answer, body: bytes, text: bytes.toString('utf8')}
  }

  raw(port: number, bytes: Buffer | string, timeoutMs = 5_000): Promise<{reply: string; closed: boolean; error?: string}> {
    return this.ask({op: 'raw', port, bytes: Buffer.from(bytes).toString('base64'), timeoutMs}) as Promise<{reply: string; closed: boolean; error?: string}>
  }

  tls(port: number, options: {minVersion?: string; maxVersion?: string; ciphers?: string}) {
    return this.ask({op: 'tls', port, options}) as Promise<{ok: boolean; protocol?: string; cipher?: string; error?: string}>
  }

  slowloris(port: number, sockets: number, seconds: number, intervalMs: number, mode: SlowMode = 'header') {
    return this.ask({op: 'slowloris', port, sockets, seconds, intervalMs, mode}) as Promise<{handshaken: number; closedAt: Array<number | null>; answers: string[]}>
  }

  /** An authenticated JSON call to the harness's server; the parsed body (or the error body) and status. */
  async api<T = Record<string, unknown>>(h: Harness, method: string, path: string, json?: unknown): Promise<{status: number; json: T}> {
    const {ca, token} = await credentials(h)
    const answer = await this.request({
      port: h.port,
      ca,
      method,
      path,
      headers: {authorization: `Bearer ${token}`, ...(json !== undefined ? {'content-type': 'application/json'} : {})},
      ...(json !== undefined ? {body: JSON.stringify(json)} : {}),
    })
    if (answer.status === undefined) throw new Error(`${method} ${path} failed: ${answer.error}`)
    return {status: answer.status, json: JSON.parse(answer.text || '{}') as T}
  }

  /** Opens the keep-alive connection later `warm: true` requests use. */
  warm(port: number, ca: string, token: string): Promise<Answer> {
    return this.ask({op: 'warm', port, ca, token}).then((answer) => {
      const a = answer as HttpsAnswer
      const bytes = Buffer.from(a.body ?? '', 'base64')
      return {...a, body: bytes, text: bytes.toString('utf8')}
    })
  }

  /** Ends the agent (only the process this helper started). */
  close(): Promise<void> {
    return this.agent.close()
  }

  private ask(request: ChildRequest): Promise<unknown> {
    return this.agent.ask(request)
  }
}

/** The pinned certificate and token from the harness's client auth file. */
export async function credentials(h: Harness): Promise<{ca: string; token: string}> {
  const auth = await readFile(h.authFile, 'utf8')
  const ca = /cert: \|\n([\s\S]*?-----END CERTIFICATE-----)/.exec(auth)?.[1]?.replace(/^ {2}/gm, '')
  const token = /token: "?([0-9a-f]{64})/.exec(auth)?.[1]
  if (!ca || !token) throw new Error(`no cert or token in ${h.authFile}`)
  return {ca, token}
}
