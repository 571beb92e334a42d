/**
 * Watches GET /v1/status from inside a sandbox's network (run by status-watch.ts) until COUNT
 * processes each run one active instance, or MAX_SECONDS pass: one request after another on a
 * kept-alive connection, PAUSE_MS apart, so the figure does not include a CLI start per look. It
 * asks what `launcho status` asks for its table (`costs=0`: each process's exposure score without
 * the list of what costs it, 0.45 instead of 1.7 MB at 1000 processes).
 * Prints one line per answer: `<done ms> <running> <processes> <state:count,…>`, or `<done ms> err <why>`.
 *   node dist/bench/lib/status-loop.js PORT AUTH_FILE COUNT MAX_SECONDS PAUSE_MS
 */
import {Agent, request} from 'node:https'
import {readFileSync} from 'node:fs'

const [port, authFile, count, maxSeconds, pauseMs] = process.argv.slice(2)
const auth = readFileSync(authFile!, 'utf8')
const ca = /cert: \|\n([\s\S]*?-----END CERTIFICATE-----)/.exec(auth)?.[1]?.replace(/^ {2}/gm, '')
const token = /token: "?([0-9a-f]{64})/.exec(auth)?.[1]
const agent = new Agent({keepAlive: true, maxSockets: 1})
const end = Date.now() + Number(maxSeconds) * 1000

interface Status {
  processes: Array<{state: string; instances: Array<{activeState: string}>}>
}

function status(): Promise<Status> {
  return new Promise((resolve, reject) => {
    const req = request(
      {host: '127.0.0.1', port: Number(port), path: '/v1/status?events=0&costs=0', agent, ca, checkServerIdentity: () => undefined, headers: {authorization: `Bearer ${token}`}},
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body) as Status) : reject(new Error(`HTTP ${res.statusCode}: ${body.slice(0, 200)}`))))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

while (Date.now() < end) {
  try {
    const {processes} = await status()
    const states = new Map<string, number>()
    let running = 0
    for (const process of processes) {
      states.set(process.state, (states.get(process.state) ?? 0) + 1)
      if (process.state === 'running' && process.instances.length === 1 && process.instances[0]!.activeState === 'active') running++
    }
    process.stdout.write(`${Date.now()} ${running} ${processes.length} ${[...states].map(([state, n]) => `${state}:${n}`).join(',')}\n`)
    if (running === Number(count)) break
  } catch (error) {
    process.stdout.write(`${Date.now()} err ${(error as Error).message.replace(/\s+/g, ' ')}\n`)
  }
  await new Promise((resolve) => setTimeout(resolve, Number(pauseMs)))
}
agent.destroy()
