/**
 * Integration harness: a real systemd in a sandbox, a real `launcho server` process driving it over
 * D-Bus, and the real CLI talking to the server over TLS. State lives under /var/tmp (the
 * sandbox's processes share the host filesystem, but not its /tmp-cleaning boot).
 */
import {execFile, spawn, type ChildProcess} from 'node:child_process'
import {appendFileSync} from 'node:fs'
import {chmod, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'
import {statusReportSchema, type StatusReport} from '../../src/protocol/status.js'
import {startSandbox, type Sandbox} from '../../src/sandbox/sandbox.js'
import {requestInNetwork} from './in-network.js'

const run = promisify(execFile)
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
export const launchoBin = join(repoRoot, 'bin', 'launcho.js')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

export class Harness {
  server?: ChildProcess
  port = 0
  serverLog = ''

  private constructor(
    readonly sandbox: Sandbox,
    readonly dir: string,
  ) {}

  static async start(options: {server?: boolean} = {}): Promise<Harness> {
    const dir = await mkdtemp('/var/tmp/launcho-test-')
    // Processes run as other users must be able to reach their working dirs under state/instances.
    await chmod(dir, 0o711)
    const sandbox = await startSandbox({logFile: join(dir, 'systemd.log')})
    const harness = new Harness(sandbox, dir)
    if (options.server !== false) await harness.startServer()
    return harness
  }

  get stateDir(): string {
    return join(this.dir, 'state')
  }

  get authFile(): string {
    return join(this.dir, 'client-auth.yaml')
  }

  /** Starts `launcho server` and waits until it logs that it is ready; writes the client auth file. */
  async startServer(extraArgs: string[] = [], options: ServerStartOptions = {}): Promise<void> {
    // The server lives in the sandbox's network, like its processes: health checks and the load
    // balancer act there, never on the host's network.
    const [nsenter, ...inNetwork] = this.sandbox.inNetwork()
    const argv = [
      nsenter!,
      ...inNetwork,
      // After entering the network: a prefix that enters a mount namespace changes /proc.
      ...(options.prefix ?? []),
      process.execPath,
      launchoBin,
      'server',
      '--state-dir',
      this.stateDir,
      '--listen',
      '127.0.0.1:0',
      '--journal-root',
      this.sandbox.journalRoot,
      ...extraArgs,
    ]
    const child = spawn(argv[0]!, argv.slice(1), {env: {...process.env, ...this.sandbox.env, LAUNCHO_LOG_LEVEL: 'debug'}, stdio: ['ignore', 'pipe', 'pipe']})
    this.server = child
    this.serverLog = ''
    this.port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${this.serverLog}`)), 20_000)
      const onData = (chunk: Buffer) => {
        this.serverLog += chunk.toString()
        if (process.env.LAUNCHO_TEST_SERVER_LOG) appendFileSync(process.env.LAUNCHO_TEST_SERVER_LOG, chunk)
        const match = /"listen":"127\.0\.0\.1:(\d+)".*launcho server ready/.exec(this.serverLog)
        if (match) {
          clearTimeout(timer)
          resolve(Number(match[1]))
        }
      }
      child.stdout!.on('data', onData)
      child.stderr!.on('data', onData)
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(new Error(`server exited with ${code ?? signal}:\n${this.serverLog}`))
      })
    })
    child.removeAllListeners('exit')
    if (options.printAuth === false) {
      // Same identity as before: only the port in the auth file changes (keeps many restarts fast).
      const text = await readFile(this.authFile, 'utf8')
      await writeFile(this.authFile, text.replace(/^host: .*$/m, `host: "127.0.0.1:${this.port}"`), {mode: 0o600})
      return
    }
    const auth = await this.cli(['print-auth', '--state-dir', options.authStateDir ?? this.stateDir, '--host', `127.0.0.1:${this.port}`], {auth: false})
    if (auth.code !== 0) throw new Error(`print-auth failed: ${auth.stderr}`)
    await writeFile(this.authFile, auth.stdout, {mode: 0o600})
  }

  /** Ends the server we started: SIGTERM (graceful) or SIGKILL. */
  async stopServer(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.server
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill(signal)
    await exited
    this.server = undefined
  }

  async cli(args: string[], options: {auth?: boolean; input?: string; env?: Record<string, string>} = {}): Promise<CliResult> {
    const fullArgs = [launchoBin, ...args, ...(options.auth === false ? [] : ['--auth', this.authFile])]
    return new Promise((resolve) => {
      const [nsenter, ...prefix] = this.sandbox.inNetwork()
      const child = spawn(nsenter!, [...prefix, process.execPath, ...fullArgs], {env: {...process.env, ...options.env}, stdio: ['pipe', 'pipe', 'pipe']})
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk) => (stdout += chunk))
      child.stderr.on('data', (chunk) => (stderr += chunk))
      child.stdin.end(options.input ?? '')
      child.on('close', (code) => resolve({code: code ?? -1, stdout, stderr}))
    })
  }

  /** argv that runs the CLI the way cli() does (inside the sandbox network, with our auth file). */
  cliArgv(args: string[]): [string, ...string[]] {
    const [nsenter, ...prefix] = this.sandbox.inNetwork()
    return [nsenter!, ...prefix, process.execPath, launchoBin, ...args, '--auth', this.authFile]
  }

  /** Like cli() but fails the test on a non-zero exit. */
  async ok(args: string[], options: {input?: string} = {}): Promise<string> {
    const result = await this.cli(args, options)
    if (result.code !== 0) throw new Error(`launcho ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`)
    return result.stdout
  }

  /** A bare HTTPS request to the server from inside the sandbox network (pinned cert, optional token). */
  async request(options: {method?: string; path: string; headers?: Record<string, string | number>; body?: Buffer | string; token?: boolean}) {
    const auth = await readFile(this.authFile, 'utf8')
    const cert = /cert: \|\n([\s\S]*?-----END CERTIFICATE-----)/.exec(auth)?.[1]?.replace(/^ {2}/gm, '')
    const token = /token: "?([0-9a-f]{64})/.exec(auth)?.[1]
    return requestInNetwork(this.sandbox.netns, {
      port: this.port,
      method: options.method ?? 'GET',
      path: options.path,
      headers: {...(options.token === false ? {} : {authorization: `Bearer ${token}`}), ...options.headers},
      ...(options.body !== undefined ? {body: Buffer.from(options.body)} : {}),
      ...(cert ? {ca: cert} : {}),
    })
  }

  async writeFile(name: string, text: string): Promise<string> {
    const path = join(this.dir, name)
    await writeFile(path, text)
    return path
  }

  /**
   * `t set` of `yaml`. By default it returns once the server took the target (--detach), as most
   * tests then wait for what they look at; `{wait: true}` follows the rollout like a user's `t set`.
   * `allowEmpty`: the target may have no processes (it stops them all).
   */
  async setTarget(yaml: string, options: {wait?: boolean; allowEmpty?: boolean} = {}): Promise<string> {
    return this.ok(['t', 'set', await this.writeFile('target.yaml', yaml), ...(options.wait ? [] : ['--detach']), ...(options.allowEmpty ? ['--allow-empty'] : [])])
  }

  /** Runs a command inside the sandbox (its mount, PID and network namespaces). */
  async inside(command: string[]): Promise<string> {
    const [bin, ...args] = [...this.sandbox.inside(), ...command]
    const {stdout} = await run(bin!, args, {maxBuffer: 16 * 1024 * 1024})
    return stdout
  }

  /** A unit's properties as a map, from `systemctl show` inside the sandbox. */
  async unit(name: string, properties: string[]): Promise<Record<string, string>> {
    const out = await this.inside(['systemctl', 'show', name, ...properties.map((p) => `--property=${p}`)])
    return Object.fromEntries(out.trim().split('\n').filter(Boolean).map((line) => {
      const at = line.indexOf('=')
      return [line.slice(0, at), line.slice(at + 1)]
    }))
  }

  /**
   * The environment of a unit's running main process (its env is in a private EnvironmentFile,
   * not in the unit's Environment=), or undefined while it has none.
   */
  async processEnv(unit: string): Promise<Record<string, string> | undefined> {
    const pid = (await this.unit(unit, ['MainPID'])).MainPID
    if (!pid || pid === '0') return undefined
    const environ = await this.inside(['cat', `/proc/${pid}/environ`]).catch(() => undefined)
    if (environ === undefined) return undefined
    return Object.fromEntries(environ.split('\0').filter(Boolean).map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]))
  }

  /** Names of the launcho units systemd has loaded. */
  async units(): Promise<string[]> {
    const out = await this.inside(['systemctl', 'list-units', '--all', '--plain', '--no-legend', 'launcho-*.service'])
    return out.trim().split('\n').filter(Boolean).map((line) => line.split(/\s+/)[0]!).sort()
  }

  async journal(args: string[]): Promise<string> {
    const {stdout} = await run('journalctl', ['--no-pager', '-q', `--root=${this.sandbox.journalRoot}`, ...args])
    return stdout
  }

  async status(): Promise<StatusReport> {
    return statusReportSchema.parse(JSON.parse(await this.ok(['status', '--json', '--events', '50'])))
  }

  async readFile(path: string): Promise<string> {
    return readFile(path, 'utf8')
  }

  async close(): Promise<void> {
    await this.stopServer('SIGKILL')
    await this.sandbox.stop()
    if (!process.env.LAUNCHO_KEEP_TEST_DIR) await rm(this.dir, {recursive: true, force: true})
  }
}

export interface ServerStartOptions {
  /** argv run before `nsenter … node launcho server …` (must exec it in the end), e.g. `unshare -m …`. */
  prefix?: string[]
  /** false: keep the existing auth file and only update its port. */
  printAuth?: boolean
  /** Where print-auth reads the identity (default: the harness's state dir). */
  authStateDir?: string
}

/** What `launcho status --json` prints: the protocol's status report. */
export type StatusJson = StatusReport

/** Polls `check` until it returns a value other than undefined/false, or fails with `what`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
    } catch (error) {
      last = error
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`)
}
