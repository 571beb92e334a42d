/**
 * A long-lived helper process the tests talk to over Node's IPC channel: each request gets an id
 * and its answer (or error) back. The child says it is ready with a first message. Used for the
 * agents that do networking inside a network namespace.
 */
import {spawn, type ChildProcess} from 'node:child_process'

export class IpcChild<Request> {
  private next = 1
  private readonly pending = new Map<number, {resolve: (value: unknown) => void; reject: (error: Error) => void}>()

  private constructor(readonly child: ChildProcess) {
    child.on('message', (message: {id?: number; result?: unknown; error?: string}) => {
      const waiter = message.id === undefined ? undefined : this.pending.get(message.id)
      if (!waiter || message.id === undefined) return
      this.pending.delete(message.id)
      if (message.error !== undefined) waiter.reject(new Error(message.error))
      else waiter.resolve(message.result)
    })
    child.on('exit', () => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`${child.spawnfile} exited`))
      this.pending.clear()
    })
  }

  /** Starts `command args…` with an IPC channel and waits for its ready message. */
  static async start<Request>(command: string, args: string[]): Promise<IpcChild<Request>> {
    const child = spawn(command, args, {stdio: ['ignore', 'inherit', 'inherit', 'ipc']})
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve())
      child.once('exit', (code) => reject(new Error(`${command} ${args.at(-1)} exited with ${code} before it was ready`)))
      child.once('error', reject)
    })
    return new IpcChild<Request>(child)
  }

  get pid(): number {
    return this.child.pid!
  }

  ask(request: Request): Promise<unknown> {
    const id = this.next++
    return new Promise((resolve, reject) => {
      this.pending.set(id, {resolve, reject})
      this.child.send({id, request})
    })
  }

  /** Ends the child (only the process this helper started). */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise((resolve) => this.child.once('exit', resolve))
    this.child.kill('SIGKILL')
    await exited
  }
}
