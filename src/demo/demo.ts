/**
 * `launcho demo`: the whole flow on a machine without systemd as PID 1. Inside a private sandbox
 * systemd it starts a real server, deploys the original README's hello-world app behind a service
 * the way that README intends (bundle → resource up → secret set), sends traffic, rolls a new
 * bundle out under load, kills the server with SIGKILL under load, and prints the failed-request
 * count. Every step runs the real CLI and prints what it printed.
 */
import {execFile, type ChildProcess} from 'node:child_process'
import {chmod, mkdir, mkdtemp, readdir, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'
import {removeWorkDir} from '../reconcile/work-dir.js'
import {helloServerSource} from './hello-app.js'
import {fetchOnce, startLoad} from './load.js'
import {waitUntil, startServer} from './server-process.js'

const run = promisify(execFile)
const launcho = fileURLToPath(new URL('../../../bin/launcho.js', import.meta.url))
const SERVICE = 'http://127.0.0.1:5000/'

export interface DemoOptions {
  keep: boolean
  say: (line: string) => void
}

const target = `processes:
  - name: "main-server"
    resources:
      - id: "\${BUNDLE_RESOURCE_ID}"
        file: "bundle.tar.bz2"
    before: |
      tar -xf bundle.tar.bz2
      mv bundle/* .
    command: ["node", "server.js"]
    uid: nobody
    receives: ["traffic"]
    health: {service: "traffic", path: "/health", interval: 500ms}
services:
  - name: "traffic"
    on: "127.0.0.1:5000"
`

export async function runDemo({keep, say}: DemoOptions): Promise<void> {
  const dir = await mkdtemp('/var/tmp/launcho-demo-')
  await chmod(dir, 0o711)
  const stateDir = join(dir, 'state')
  const auth = join(dir, 'client-auth.yaml')
  const cli = async (args: string[], show = true) => {
    if (show) say(`\n$ launcho ${args.join(' ')}`)
    const {stdout} = await run(process.execPath, [launcho, ...args, '--auth', auth], {cwd: dir})
    if (show) say(stdout.trimEnd())
    return stdout
  }
  const bundle = async (greeting: string) => {
    await mkdir(join(dir, 'bundle'), {recursive: true})
    await writeFile(join(dir, 'bundle', 'server.js'), helloServerSource.replace("process.env.GREETING || 'Hello, world!'", JSON.stringify(greeting)))
    await run('tar', ['-chjf', 'bundle.tar.bz2', 'bundle/'], {cwd: dir})
    say(`\n$ tar -cvvhjf bundle.tar.bz2 bundle/      # bundle/server.js answers "${greeting}"`)
    const id = (await cli(['resource', 'up', 'bundle.tar.bz2'])).trim()
    await cli(['secret', 'set', 'BUNDLE_RESOURCE_ID', id])
  }
  const answers = () => fetchOnce(SERVICE)
  let server: ChildProcess | undefined
  try {
    say(`== launcho server in a private sandbox systemd (state in ${stateDir}, API on 127.0.0.1:12888)`)
    server = await startServer(launcho, stateDir, join(dir, 'server.log'))
    const {stdout: authText} = await run(process.execPath, [launcho, 'print-auth', '--state-dir', stateDir, '--host', '127.0.0.1:12888'])
    await writeFile(auth, authText, {mode: 0o600})

    say('\n== Deploy the original README\'s hello-world server as a bundle, behind the service 127.0.0.1:5000')
    await bundle('Hello, world!')
    await writeFile(join(dir, 'target.yaml'), target)
    say(`\n$ cat target.yaml\n${target.trimEnd()}`)
    await cli(['t', 'set', 'target.yaml'])
    await waitUntil(async () => (await answers()) === 'Hello, world!', 60_000)
    await cli(['status', '--events', '0'])
    say(`\n$ curl ${SERVICE}\n${await answers()}`)

    say('\n== Roll out a new bundle under load (4 clients, a new connection per request)')
    const load = startLoad(SERVICE)
    await bundle('Hello from version 2!')
    await waitUntil(async () => (await answers()) === 'Hello from version 2!', 60_000)
    await waitUntil(async () => (await cli(['status', '--json'], false)).match(/"unit"/g)?.length === 1, 60_000)
    await cli(['status', '--events', '8'])

    say('\n== kill -9 of the launcho server under load: traffic keeps flowing; on start it adopts everything')
    server.kill('SIGKILL')
    await new Promise((resolve) => server!.once('exit', resolve))
    const before = load.report().ok
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    say(`(server down for 1.5 s: ${load.report().ok - before} requests answered meanwhile)`)
    server = await startServer(launcho, stateDir, join(dir, 'server.log'))
    await cli(['status', '--events', '0'])

    const report = await load.stop()
    say('\n== Traffic during the rollout and the server kill')
    for (const [answer, count] of Object.entries(report.answers)) say(`  ${String(count).padStart(6)} × "${answer}"`)
    say(`  ${report.ok + report.failed} requests, ${report.failed} failed${report.failed ? ` (${JSON.stringify(report.errors)})` : ''}`)

    await cli(['logs', 'main-server', '--all-versions', '-n', '4'])
    say(`\nDemo finished: ${report.failed} failed requests. Everything above ran against a real systemd over D-Bus.`)
    if (report.failed > 0) process.exitCode = 1
  } finally {
    server?.kill('SIGTERM')
    if (keep) say(`(kept ${dir})`)
    else await removeDemoDir(dir, stateDir, say)
  }
}

/**
 * The instances' work dirs are their users' (and their processes still run): those go as their
 * owners, like launcho removes them, before root removes the rest, which is root's alone.
 */
async function removeDemoDir(dir: string, stateDir: string, say: DemoOptions['say']): Promise<void> {
  const instances = join(stateDir, 'instances')
  for (const entry of await readdir(instances).catch(() => [] as string[])) {
    try {
      await removeWorkDir(join(instances, entry))
    } catch (error) {
      say(`(kept ${dir}: ${(error as Error).message})`)
      return
    }
  }
  await rm(dir, {recursive: true, force: true})
}

