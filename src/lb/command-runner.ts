/**
 * How the kernel balancers run their tools (nft, ipvsadm, ip, ss, sysctl). Injectable so unit tests
 * can pin the exact argv, and wrappable so a server outside a sandbox can program the sandbox's
 * network namespace (`nsenter --net=<path>`).
 */
import {spawn} from 'node:child_process'
import {LaunchoError} from '../errors.js'

export interface CommandResult {
  stdout: string
  stderr: string
  /** Exit code; 127 when the program is missing, 124 when it timed out. */
  code: number
}

export type CommandRunner = (argv: string[], stdin?: string) => Promise<CommandResult>

/** Runs argv directly (no shell). Never rejects: a missing program or a timeout is a result too. */
export function spawnRunner(timeoutMs = 10_000): CommandRunner {
  return (argv, stdin) =>
    new Promise((resolve) => {
      const child = spawn(argv[0], argv.slice(1), {stdio: ['pipe', 'pipe', 'pipe']})
      let stdout = ''
      let stderr = ''
      let timedOut = false
      const timer = setTimeout(() => {
        timedOut = true
        child.kill('SIGKILL')
      }, timeoutMs)
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
      child.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer)
        const code = error.code === 'ENOENT' ? 127 : 126
        resolve({stdout, stderr: `${stderr}${argv[0]}: ${error.message}`, code})
      })
      child.on('close', (code) => {
        clearTimeout(timer)
        if (timedOut) resolve({stdout, stderr: `${stderr}${argv[0]}: timed out after ${timeoutMs} ms`, code: 124})
        else resolve({stdout, stderr, code: code ?? 1})
      })
      // EPIPE when the program exits without reading its input; its exit code tells the story.
      child.stdin.on('error', () => {})
      child.stdin.end(stdin ?? '')
    })
}

/** The runner that runs every command inside the network namespace at `netnsPath`, if given. */
export function inNetns(runner: CommandRunner, netnsPath?: string): CommandRunner {
  if (!netnsPath) return runner
  return (argv, stdin) => runner(['nsenter', `--net=${netnsPath}`, '--', ...argv], stdin)
}

/** Runs argv and returns stdout, or throws a typed error naming the command and its stderr. */
export async function runChecked(runner: CommandRunner, argv: string[], stdin: string | undefined, hint: string): Promise<string> {
  const result = await runner(argv, stdin)
  if (result.code !== 0) {
    const reason = result.stderr.trim().split('\n').slice(0, 6).join('; ') || `exit code ${result.code}`
    // Behind nsenter, the program that may be missing is the one after `--`.
    const program = argv[0] === 'nsenter' ? (argv[argv.indexOf('--') + 1] ?? 'nsenter') : argv[0]
    throw new LaunchoError('internal', `${argv.join(' ')} failed: ${reason}`, {
      hint: result.code === 127 ? `install ${program} (Debian package ${packageOf[program] ?? program})` : hint,
    })
  }
  return result.stdout
}

const packageOf: Record<string, string> = {
  nft: 'nftables',
  ipvsadm: 'ipvsadm',
  ip: 'iproute2',
  ss: 'iproute2',
  sysctl: 'procps',
  nsenter: 'util-linux',
}
