/**
 * A private network namespace for a test, made with `unshare --net` around a netns-agent process:
 * the namespace lives exactly as long as the agent, so there is no global name to clean up, and
 * the host's own network and ruleset are never touched. Commands run in it through its path,
 * `/proc/<agent pid>/ns/net` (e.g. a balancer's `netns` option, or `nsenter --net=`).
 */
import {execFile} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'
import {IpcChild} from './ipc-child.js'
import type {AgentRequest, Answer, Tally} from './netns-agent.js'

const run = promisify(execFile)
const agentPath = fileURLToPath(new URL('./netns-agent.js', import.meta.url))

export class PrivateNetns {
  private constructor(private readonly agent: IpcChild<AgentRequest>) {}

  static async create(): Promise<PrivateNetns> {
    return new PrivateNetns(await IpcChild.start<AgentRequest>('unshare', ['--net', process.execPath, agentPath]))
  }

  /** The namespace's path, for `nsenter --net=` and the balancers' `netns` option. */
  get path(): string {
    return `/proc/${this.agent.pid}/ns/net`
  }

  /** Runs a command inside the namespace (with the host's filesystem). */
  async exec(argv: string[], input?: string): Promise<string> {
    const child = run('nsenter', [`--net=${this.path}`, '--', ...argv], {encoding: 'utf8'})
    if (input !== undefined) child.child.stdin?.end(input)
    return (await child).stdout
  }

  /** An HTTP backend answering its name, or with `reset` one that resets every connection it accepts. */
  listen(name: string, port: number, options: {reset?: boolean} = {}): Promise<void> {
    return this.ask({op: 'listen', name, port, ...options}) as Promise<void>
  }

  tally(host: string, port: number, n: number): Promise<Tally> {
    return this.ask({op: 'tally', host, port, n}) as Promise<Tally>
  }

  /** One request on a new connection, from `localPort` when given. */
  get(host: string, port: number, localPort?: number): Promise<Answer> {
    return this.ask({op: 'get', host, port, ...(localPort ? {localPort} : {})}) as Promise<Answer>
  }

  /** A request on the one long-lived keep-alive connection (opened by the first call). */
  hold(host: string, port: number): Promise<Answer> {
    return this.ask({op: 'hold', host, port}) as Promise<Answer>
  }

  release(): Promise<void> {
    return this.ask({op: 'release'}) as Promise<void>
  }

  startLoop(host: string, port: number): Promise<void> {
    return this.ask({op: 'loop-start', host, port}) as Promise<void>
  }

  stopLoop(): Promise<Tally> {
    return this.ask({op: 'loop-stop'}) as Promise<Tally>
  }

  /** Ends the agent (only the process this helper started), and with it the namespace. */
  close(): Promise<void> {
    return this.agent.close()
  }

  private ask(request: AgentRequest): Promise<unknown> {
    return this.agent.ask(request)
  }
}
