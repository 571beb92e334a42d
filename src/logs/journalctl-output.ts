/**
 * Runs one journalctl and hands out its stdout chunk by chunk as the consumer asks for them, so a
 * slow reader slows journalctl down (it blocks on a full pipe) instead of filling memory. The
 * child ends when the output ends, when the consumer stops iterating, or when `signal` aborts,
 * which is what a follow relies on: a follow's journalctl never ends by itself. It is started
 * through `setpriv --pdeathsig` so that it also ends when the server is killed outright (kill -9
 * runs no cleanup), instead of lingering until its next write hits a closed pipe.
 */
import {spawn} from 'node:child_process'
import {systemTool} from '../systemd/system-tool.js'
import {LaunchoError} from '../errors.js'

const MAX_STDERR = 4096
/** setpriv's status when it cannot run its command. */
const COMMAND_NOT_FOUND = 127

export async function* journalctlOutput(args: string[], signal: AbortSignal): AsyncGenerator<Buffer> {
  if (signal.aborted) return
  const child = spawn(systemTool('setpriv'), ['--pdeathsig', 'TERM', '--', systemTool('journalctl'), ...args], {stdio: ['ignore', 'pipe', 'pipe']})
  const stop = () => child.kill('SIGTERM')
  signal.addEventListener('abort', stop, {once: true})
  let stderr = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (text: string) => {
    if (stderr.length < MAX_STDERR) stderr += text
  })
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve(code))
  })
  // Observed below, but not when the consumer stops early; never an unhandled rejection.
  exited.catch(() => undefined)
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer
    const code = await exited.catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT'
        ? new LaunchoError('internal', 'setpriv is not installed on the server', {hint: 'install util-linux on the server (apt-get install util-linux)'})
        : error
    })
    if (code === COMMAND_NOT_FOUND && /journalctl/.test(stderr)) {
      throw new LaunchoError('internal', 'journalctl is not installed on the server', {hint: 'install systemd on the server (apt-get install systemd)'})
    }
    if (code !== 0 && !signal.aborted) throw journalctlFailed(code, stderr)
  } finally {
    signal.removeEventListener('abort', stop)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  }
}

function journalctlFailed(code: number | null, stderr: string): LaunchoError {
  const said = stderr.trim().split('\n')[0] ?? ''
  return new LaunchoError('internal', `journalctl failed${code === null ? '' : ` with status ${code}`}${said ? `: ${said}` : ''}`, {
    hint: 'check that the server\'s --journal-root points at a journal the server can read',
  })
}
