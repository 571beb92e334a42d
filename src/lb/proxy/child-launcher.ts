/**
 * Runs the proxy as a child process of this one: for tests and development without systemd. Unlike
 * the systemd unit it does not outlive this process: the proxy exits when its IPC channel to us
 * closes, even if we were killed.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import type {ProxyLauncher} from './launcher.js'
import {proxyEntry} from './launcher.js'

const OUTPUT_KEPT = 64 * 1024

export class ChildProxyLauncher implements ProxyLauncher {
  readonly logsHint = 'see the proxy output (ChildProxyLauncher.output)'
  private child?: ChildProcess
  /** The tail of the proxy's stdout and stderr. */
  output = ''

  constructor(private readonly env: Record<string, string> = {}) {}

  get pid(): number | undefined {
    return this.running ? this.child!.pid : undefined
  }

  async ensure(configPath: string): Promise<'started' | 'adopted'> {
    if (this.running) return 'adopted'
    const child = spawn(process.execPath, [proxyEntry, configPath], {
      env: {...process.env, ...this.env},
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    })
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-OUTPUT_KEPT)
    }
    child.stdout!.on('data', keep)
    child.stderr!.on('data', keep)
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve)
      child.once('error', reject)
    })
    this.child = child
    return 'started'
  }

  async reload(): Promise<void> {
    if (!this.running) throw new Error('the proxy child process is not running')
    this.child!.kill('SIGHUP')
  }

  /** Stops the proxy (SIGTERM: it drains for up to 3 s), SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 5_000): Promise<void> {
    const child = this.child
    if (!child || !this.running) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    await exited
    clearTimeout(timer)
  }

  private get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
  }
}
