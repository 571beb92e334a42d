/**
 * Starting the harness's server the way Harness.startServer does, with two additions the
 * reliability tests need: an argv prefix (e.g. `unshare --mount … sh -c …` for a private tmpfs
 * state dir) and, when the state dir already holds the server's identity, no `print-auth` run:
 * the auth file only gets the new port, which keeps 50+ restarts fast.
 */
import {spawn} from 'node:child_process'
import {readFile, writeFile} from 'node:fs/promises'
import {launchoBin, type Harness} from '../../helpers/harness.js'

export interface StartOptions {
  extraArgs?: string[]
  /** argv run before `node launcho server …` (must exec it in the end). */
  prefix?: string[]
  /** Run print-auth (first start of a state dir); otherwise only the port in the auth file changes. */
  printAuth?: boolean
  /** Where print-auth reads the identity (default: the harness's state dir). */
  authStateDir?: string
}

export async function startServer(h: Harness, options: StartOptions = {}): Promise<void> {
  const [nsenter, ...inNet] = h.sandbox.inNetwork()
  const argv = [
    ...(options.prefix ?? []),
    nsenter!,
    ...inNet,
    process.execPath,
    launchoBin,
    'server',
    '--state-dir',
    h.stateDir,
    '--listen',
    '127.0.0.1:0',
    '--journal-root',
    h.sandbox.journalRoot,
    ...(options.extraArgs ?? []),
  ]
  const child = spawn(argv[0]!, argv.slice(1), {env: {...process.env, ...h.sandbox.env, LAUNCHO_LOG_LEVEL: 'debug'}, stdio: ['ignore', 'pipe', 'pipe']})
  h.server = child
  h.serverLog = ''
  h.port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${h.serverLog}`)), 20_000)
    const onData = (chunk: Buffer) => {
      h.serverLog += chunk.toString()
      const match = /"listen":"127\.0\.0\.1:(\d+)".*launcho server ready/.exec(h.serverLog)
      if (match) {
        clearTimeout(timer)
        resolve(Number(match[1]))
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code ?? signal}:\n${h.serverLog}`))
    })
  })
  child.removeAllListeners('exit')
  if (options.printAuth) {
    const auth = await h.cli(['print-auth', '--state-dir', options.authStateDir ?? h.stateDir, '--host', `127.0.0.1:${h.port}`], {auth: false})
    if (auth.code !== 0) throw new Error(`print-auth failed: ${auth.stderr}`)
    await writeFile(h.authFile, auth.stdout, {mode: 0o600})
  } else {
    const text = await readFile(h.authFile, 'utf8')
    await writeFile(h.authFile, text.replace(/^host: .*$/m, `host: "127.0.0.1:${h.port}"`), {mode: 0o600})
  }
}
