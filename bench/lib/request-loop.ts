/**
 * A tight request loop, run inside a sandbox's network namespace by probe.ts: one GET after another
 * to URL, each on a new TCP connection (so each gets its own balancing decision), until SIGTERM or
 * MAX_SECONDS. Prints one line per request: `<sent ms> <done ms> ok <body>` or `<sent> <done> err <why>`.
 *   node dist/bench/lib/request-loop.js URL MAX_SECONDS
 */
import {get} from 'node:http'

const url = new URL(process.argv[2]!)
const end = Date.now() + Number(process.argv[3] ?? 60) * 1000
let stopping = false
let out = ''

function one(): Promise<string> {
  return new Promise((resolve) => {
    const req = get({host: url.hostname, port: url.port, path: url.pathname, agent: false, timeout: 1000}, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve(res.statusCode === 200 ? `ok ${body}` : `err HTTP-${res.statusCode}`))
      res.on('error', (error: NodeJS.ErrnoException) => resolve(`err ${error.code ?? error.message}`))
    })
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), {code: 'TIMEOUT'})))
    req.on('error', (error: NodeJS.ErrnoException) => resolve(`err ${error.code ?? error.message}`))
  })
}

const flush = setInterval(() => {
  if (out) process.stdout.write(out)
  out = ''
}, 50)
process.on('SIGTERM', () => (stopping = true))

while (!stopping && Date.now() < end) {
  const sent = Date.now()
  const outcome = await one()
  out += `${sent} ${Date.now()} ${outcome}\n`
}
clearInterval(flush)
process.stdout.write(out)
