/**
 * Throughput of the userspace proxy against a direct connection, on loopback, with the same load
 * tool (wrk, from Debian: `apt-get install wrk`). The backend is a Node HTTP server in its own
 * process, the proxy runs as it does in production (its own process, started by the Balancer).
 *
 *   node dist/bench/proxy.js [--seconds 5] [--connections 32] [--rounds 2]
 */
import {execFile, spawn} from 'node:child_process'
import {mkdtemp, rm} from 'node:fs/promises'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs, promisify} from 'node:util'
import {ChildProxyLauncher} from '../src/lb/proxy/child-launcher.js'
import {UserspaceBalancer} from '../src/lb/userspace.js'

const run = promisify(execFile)
const {values} = parseArgs({options: {seconds: {type: 'string', default: '5'}, connections: {type: 'string', default: '32'}, rounds: {type: 'string', default: '2'}}})

interface WrkResult {
  rps: number
  errors: string
}

async function wrk(port: number, seconds: number): Promise<WrkResult> {
  const {stdout} = await run('wrk', ['-t1', `-c${values.connections}`, `-d${seconds}s`, `http://127.0.0.1:${port}/`])
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1])
  const errors = [/Socket errors:.*/.exec(stdout)?.[0], /Non-2xx.*/.exec(stdout)?.[0]].filter(Boolean).join('; ')
  return {rps, errors}
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as {port: number}
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function main(): Promise<void> {
  await run('wrk', ['--version']).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new Error('wrk is not installed: apt-get install wrk')
  })
  const seconds = Number(values.seconds)
  const backendScript = `const s = require('http').createServer((q, r) => r.end('ok')); s.listen(0, '127.0.0.1', () => console.log(s.address().port))`
  const backend = spawn(process.execPath, ['-e', backendScript], {stdio: ['ignore', 'pipe', 'inherit']})
  const backendPort = Number(await new Promise<string>((resolve) => backend.stdout!.once('data', (chunk) => resolve(String(chunk)))))
  const dir = await mkdtemp(join(tmpdir(), 'launcho-bench-proxy-'))
  const launcher = new ChildProxyLauncher({LAUNCHO_LOG_LEVEL: 'warn'})
  try {
    const port = await freePort()
    const balancer = new UserspaceBalancer({dir, launcher})
    await balancer.sync([{name: 'bench', on: {host: '127.0.0.1', port}, backends: [{host: '127.0.0.1', port: backendPort, weight: 1}]}])
    // Warm both paths (JIT, socket buffers) before measuring.
    await wrk(backendPort, 1)
    await wrk(port, 1)
    const best = {direct: 0, proxied: 0}
    for (let round = 1; round <= Number(values.rounds); round++) {
      for (const [path, target] of [['direct', backendPort], ['proxied', port]] as const) {
        const result = await wrk(target, seconds)
        best[path] = Math.max(best[path], result.rps)
        console.log(`round ${round} ${path.padEnd(7)} ${result.rps.toFixed(0).padStart(8)} req/s${result.errors ? `  (${result.errors})` : ''}`)
      }
    }
    console.log(`\nwrk -t1 -c${values.connections} -d${seconds}s, best of ${values.rounds}: direct ${best.direct.toFixed(0)} req/s, through the proxy ${best.proxied.toFixed(0)} req/s`)
    console.log(`ratio proxied/direct: ${(best.proxied / best.direct).toFixed(2)}`)
  } finally {
    await launcher.stop()
    backend.kill()
    await rm(dir, {recursive: true, force: true})
  }
}

await main()
