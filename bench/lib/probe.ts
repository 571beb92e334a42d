/**
 * Runs request-loop.js inside a sandbox's network and collects what each request saw, so a
 * benchmark can tell to the millisecond when the balancer stopped (or started) sending requests to
 * an instance. Bounded: the loop ends by itself after `maxSeconds`.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import type {Harness} from '../../test/helpers/harness.js'

const loop = fileURLToPath(new URL('./request-loop.js', import.meta.url))

export interface Sample {
  /** When the request was sent and when it ended (epoch ms). */
  sent: number
  done: number
  ok: boolean
  /** ok: the body, "<APP_VERSION> <pid>"; not ok: the error code (ECONNREFUSED, ECONNRESET, HTTP-502 …). */
  what: string
}

export class Probe {
  readonly samples: Sample[] = []
  private rest = ''
  private readonly closed: Promise<void>

  private constructor(private readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8')
    child.stdout!.on('data', (chunk: string) => this.take(chunk))
    this.closed = new Promise((resolve) => child.on('close', () => resolve()))
  }

  static start(h: Harness, url: string, maxSeconds = 60): Probe {
    const [nsenter, ...prefix] = h.sandbox.inNetwork()
    return new Probe(spawn(nsenter!, [...prefix, process.execPath, loop, url, String(maxSeconds)], {stdio: ['ignore', 'pipe', 'inherit']}))
  }

  /** Resolves once `check` holds for the samples so far; false after `timeoutMs`. */
  async until(check: (samples: Sample[]) => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (check(this.samples)) return true
      if (this.child.exitCode !== null) return check(this.samples)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    return check(this.samples)
  }

  async stop(): Promise<Sample[]> {
    this.child.kill('SIGTERM')
    await this.closed
    return this.samples
  }

  private take(chunk: string): void {
    const lines = (this.rest + chunk).split('\n')
    this.rest = lines.pop()!
    for (const line of lines) {
      const [sent, done, kind, ...what] = line.split(' ')
      this.samples.push({sent: Number(sent), done: Number(done), ok: kind === 'ok', what: what.join(' ')})
    }
  }
}
