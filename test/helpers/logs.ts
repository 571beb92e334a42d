/**
 * Helpers for the logs tests: a CLI command that keeps running (`logs -f`) with its output read as
 * it arrives, and a look at which journalctl followers are running against a sandbox's journal.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {readdir, readFile} from 'node:fs/promises'
import {waitFor, type Harness} from './harness.js'

export class RunningCli {
  stdout = ''
  stderr = ''
  private readonly exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>

  private constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()))
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()))
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({code, signal})))
  }

  static start(h: Harness, args: string[]): RunningCli {
    const [bin, ...argv] = h.cliArgv(args)
    const child = spawn(bin, argv, {stdio: ['ignore', 'pipe', 'pipe']})
    return new RunningCli(child)
  }

  /** Waits until stdout matches; fails with what was printed so far. */
  async waitForOutput(pattern: RegExp, timeoutMs = 15_000): Promise<void> {
    await waitFor(`output matching ${pattern}`, async () => pattern.test(this.stdout), timeoutMs).catch((error: Error) => {
      throw new Error(`${error.message}\nstdout so far:\n${this.stdout}\nstderr:\n${this.stderr}`)
    })
  }

  /** Sends a signal and waits (at most timeoutMs) for the command to exit. */
  async stop(signal: NodeJS.Signals, timeoutMs = 10_000): Promise<{code: number | null; signal: NodeJS.Signals | null}> {
    this.child.kill(signal)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`launcho did not exit within ${timeoutMs} ms of ${signal}`)), timeoutMs)
    })
    try {
      return await Promise.race([this.exited, timeout])
    } finally {
      clearTimeout(timer)
      this.child.kill('SIGKILL')
    }
  }
}

/** PIDs of running `journalctl --follow` processes that read the given journal root. */
export async function journalFollowers(journalRoot: string): Promise<number[]> {
  const pids: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const argv = await readFile(`/proc/${entry}/cmdline`, 'utf8').then((text) => text.split('\0'), () => [] as string[])
    if (argv[0]?.endsWith('journalctl') && argv.includes('--follow') && argv.includes(`--root=${journalRoot}`)) pids.push(Number(entry))
  }
  return pids
}

/** Waits until the journal has a line of `process` matching `pattern` (lines reach journald asynchronously). */
export async function waitForJournalLine(h: Harness, process: string, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  return waitFor(
    `a journal line of ${process} matching ${pattern}`,
    async () => (await h.journal([`LAUNCHO_PROCESS=${process}`, '-o', 'cat'])).split('\n').find((line) => pattern.test(line)),
    timeoutMs,
    100,
  )
}
