/**
 * `launcho demo`: the whole flow on a machine without systemd as PID 1. Inside a private sandbox
 * systemd it starts a real server, deploys the original README's hello-world app and a worker,
 * shows status, answers HTTP, survives `kill -9` of a process and of the server, and replaces a
 * changed process. Every step runs the real CLI and prints what it printed.
 */
import {execFile, spawn, type ChildProcess} from 'node:child_process'
import {chmod, mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'
import {helloServerSource} from './hello-app.js'

const run = promisify(execFile)
const launcho = fileURLToPath(new URL('../../../bin/launcho.js', import.meta.url))

export interface DemoOptions {
  sandboxPid1: number
  keep: boolean
  say: (line: string) => void
}

export async function runDemo({sandboxPid1, keep, say}: DemoOptions): Promise<void> {
  const dir = await mkdtemp('/var/tmp/launcho-demo-')
  await chmod(dir, 0o711)
  const appDir = join(dir, 'app')
  await mkdir(appDir, {mode: 0o755})
  await writeFile(join(appDir, 'server.js'), helloServerSource, {mode: 0o644})
  const stateDir = join(dir, 'state')
  const auth = join(dir, 'client-auth.yaml')
  const cli = async (...args: string[]) => {
    say(`\n$ launcho ${args.join(' ')}`)
    const {stdout} = await run(process.execPath, [launcho, ...args, '--auth', auth])
    say(stdout.trimEnd())
    return stdout
  }
  let server: ChildProcess | undefined
  try {
    say(`== Starting launcho server (state in ${stateDir}, API on 127.0.0.1:12888 inside the sandbox)`)
    server = await startServer(stateDir, join(dir, 'server.log'))
    const {stdout: authText} = await run(process.execPath, [launcho, 'print-auth', '--state-dir', stateDir, '--host', '127.0.0.1:12888'])
    await writeFile(auth, authText, {mode: 0o600})

    const target = join(dir, 'target.yaml')
    await writeFile(target, targetYaml(appDir, 'Hello, world!'))
    say(`\n== The target (${target}):\n${targetYaml(appDir, 'Hello, world!')}`)
    await cli('t', 'set', target)
    await waitUntil(async () => /hello .*running/.test(await quietStatus(auth)) && /worker .*running/.test(await quietStatus(auth)))
    await cli('status', '--events', '0')
    say(`\n$ curl http://127.0.0.1:5000/\n${await httpGet('http://127.0.0.1:5000/')}`)

    const pid = /hello\s+\S+\s+\S+\s+\S+ \[active\/running\]\s+(\d+)/.exec(await quietStatus(auth))?.[1]
    say(`\n== kill -9 of hello's main process (PID ${pid} in the sandbox); systemd restarts it at once`)
    await run('nsenter', ['-t', String(sandboxPid1), '-p', '-m', 'kill', '-9', pid!])
    await waitUntil(async () => new RegExp(`hello .*running.*\\s(?!${pid}\\s)\\d+\\s+1\\s`).test(await quietStatus(auth)))
    await cli('status', '--events', '3')

    say('\n== kill -9 of the launcho server itself: the processes keep running; on start it adopts them')
    server.kill('SIGKILL')
    await new Promise((resolve) => server!.once('exit', resolve))
    say(`$ curl http://127.0.0.1:5000/   (server down)\n${await httpGet('http://127.0.0.1:5000/')}`)
    server = await startServer(stateDir, join(dir, 'server.log'))
    await cli('status', '--events', '0')

    say('\n== Changing hello\'s greeting replaces only hello (new started before old stopped)')
    await writeFile(target, targetYaml(appDir, 'Hello again!'))
    await cli('t', 'set', target)
    await waitUntil(async () => (await httpGet('http://127.0.0.1:5000/').catch(() => '')) === 'Hello again!')
    await waitUntil(async () => (await quietStatus(auth)).match(/^hello /gm)?.length === 1)
    say(`$ curl http://127.0.0.1:5000/\n${await httpGet('http://127.0.0.1:5000/')}`)
    await cli('status', '--events', '5')

    say('\n== The journal has every line, per process (journalctl LAUNCHO_PROCESS=worker -n 3)')
    const {stdout: journal} = await run('journalctl', ['--no-pager', '-q', `--root=/proc/${sandboxPid1}/root`, 'LAUNCHO_PROCESS=worker', '-n', '3'])
    say(journal.trimEnd())
    say('\nDemo finished: every step above ran against a real systemd over D-Bus.')
  } finally {
    server?.kill('SIGTERM')
    if (keep) say(`(kept ${dir})`)
    else await rm(dir, {recursive: true, force: true})
  }
}

function targetYaml(appDir: string, greeting: string): string {
  return `processes:
  - name: hello
    command: ["node", "server.js"]
    uid: nobody
    env:
      SERVICE_PORT_TRAFFIC: "5000"
      GREETING: "${greeting}"
    before: cp ${appDir}/server.js .
  - name: worker
    command: ["/bin/sh", "-c", "while true; do echo \\"tick $(date +%T)\\"; sleep 1; done"]
    uid: nobody
`
}

async function startServer(stateDir: string, logFile: string): Promise<ChildProcess> {
  const {openSync} = await import('node:fs')
  const log = openSync(logFile, 'a')
  const child = spawn(process.execPath, [launcho, 'server', '--state-dir', stateDir, '--listen', '127.0.0.1:12888'], {
    stdio: ['ignore', log, log],
    env: process.env,
  })
  await waitUntil(async () => {
    try {
      await run(process.execPath, [launcho, 'print-auth', '--state-dir', stateDir])
      return (await httpsReachable(12888))
    } catch {
      return false
    }
  })
  return child
}

async function quietStatus(auth: string): Promise<string> {
  const {stdout} = await run(process.execPath, [launcho, 'status', '--events', '0', '--auth', auth])
  return stdout
}

async function httpGet(url: string): Promise<string> {
  const response = await fetch(url, {signal: AbortSignal.timeout(2_000)})
  return response.text()
}

async function httpsReachable(port: number): Promise<boolean> {
  const {connect} = await import('node:net')
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy()
      resolve(true)
    })
    socket.on('error', () => resolve(false))
  })
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error('the demo timed out waiting for a step; see the server log')
}
