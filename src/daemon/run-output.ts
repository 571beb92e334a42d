/**
 * The two FIFOs an attached run writes its stdout and stderr to (systemd opens them as root, before
 * it drops privileges, as StandardOutputFile=/StandardErrorFile=). The server opens each read end
 * first (non-blocking, so the open does not wait for a writer) and holds a write end of its own
 * until the run has ended, so a read sees no end-of-file before the command has even opened its
 * side; once the run is over the server lets go and each read ends after the last byte written.
 */
import {execFile} from 'node:child_process'
import {closeSync, constants, openSync} from 'node:fs'
import {Socket} from 'node:net'
import {promisify} from 'node:util'

const run = promisify(execFile)

/** Once the run ended, how long its output may stay silent (nothing read) before the streams are cut. */
const DRAIN_IDLE_MS = 5_000

export class RunOutput {
  private held: number[] = []

  private constructor(
    readonly stdout: Socket,
    readonly stderr: Socket,
    held: number[],
  ) {
    this.held = held
  }

  static async open(paths: {stdout: string; stderr: string}): Promise<RunOutput> {
    await run('mkfifo', ['-m', '0600', paths.stdout, paths.stderr])
    const sockets: Socket[] = []
    const held: number[] = []
    try {
      for (const path of [paths.stdout, paths.stderr]) {
        const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW)
        sockets.push(new Socket({fd, readable: true, writable: false}))
        held.push(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW))
      }
    } catch (error) {
      for (const socket of sockets) socket.destroy()
      for (const fd of held) closeSync(fd)
      throw error
    }
    return new RunOutput(sockets[0]!, sockets[1]!, held)
  }

  /**
   * The run is over: let the reads end after what was written. A reader held back by a slow client
   * keeps reading; only output that stays silent for DRAIN_IDLE_MS (a writer that never closes) is cut.
   */
  async ended(): Promise<void> {
    this.releaseWriters()
    const drained = (socket: Socket) => (socket.readableEnded || socket.destroyed ? Promise.resolve() : new Promise<void>((resolve) => socket.once('close', () => resolve()).once('end', () => resolve())))
    let timer: NodeJS.Timeout | undefined
    const idle = new Promise<void>((resolve) => {
      const arm = () => {
        clearTimeout(timer)
        timer = setTimeout(() => (this.stdout.isPaused() || this.stderr.isPaused() ? arm() : resolve()), DRAIN_IDLE_MS)
      }
      arm()
      this.stdout.on('data', arm)
      this.stderr.on('data', arm)
    })
    await Promise.race([Promise.all([drained(this.stdout), drained(this.stderr)]), idle])
    clearTimeout(timer)
    this.close()
  }

  close(): void {
    this.releaseWriters()
    this.stdout.destroy()
    this.stderr.destroy()
  }

  private releaseWriters(): void {
    for (const fd of this.held) closeSync(fd)
    this.held = []
  }
}
