/**
 * A bare HTTPS request made from inside the sandbox's network namespace (where the server under
 * test listens), for what the CLI would never send. The request runs in a child `node` under
 * `nsenter --net`; options and the response travel as JSON over its stdin and stdout.
 */
import {spawn} from 'node:child_process'

export interface InNetworkRequest {
  port: number
  method: string
  path: string
  headers: Record<string, string | number>
  body?: Buffer
  /** PEM to trust; the host name is not checked (the harness pins by certificate). */
  ca?: string
}

export interface InNetworkResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

const script = `
import {request} from 'node:https'
let input = ''
for await (const chunk of process.stdin) input += chunk
const o = JSON.parse(input)
const req = request({host: '127.0.0.1', port: o.port, method: o.method, path: o.path, headers: o.headers, agent: false,
  ...(o.ca ? {ca: o.ca, checkServerIdentity: () => undefined} : {rejectUnauthorized: false})}, (res) => {
  const chunks = []
  res.on('data', (c) => chunks.push(c))
  res.on('end', () => process.stdout.write(JSON.stringify({status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('base64')})))
})
req.on('error', (e) => { if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET') { process.stderr.write(e.message); process.exit(3) } })
req.end(o.body === undefined ? undefined : Buffer.from(o.body, 'base64'))
`

export function requestInNetwork(netns: string, options: InNetworkRequest): Promise<InNetworkResponse> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=${netns}`, '--', process.execPath, '--input-type=module', '-e', script], {stdio: ['pipe', 'pipe', 'pipe']})
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.stderr.on('data', (chunk) => (err += chunk))
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`request in the sandbox network failed (${code}): ${err}`))
      const parsed = JSON.parse(out) as {status: number; headers: InNetworkResponse['headers']; body: string}
      resolve({status: parsed.status, headers: parsed.headers, body: Buffer.from(parsed.body, 'base64')})
    })
    child.stdin.end(JSON.stringify({...options, body: options.body?.toString('base64')}))
  })
}
