/**
 * A private, real systemd for machines where systemd is not PID 1 (CI, containers, developer VMs).
 * It boots as PID 1 of new PID/mount/network namespaces with a minimal unit set
 * (templates/sandbox-init.sh) and shares the host's filesystem. Its bus, journal and network are
 * reached from outside through /proc/<pid1>/…, so a launcho server on the host can drive it.
 */
import {spawn, execFile, type ChildProcess} from 'node:child_process'
import {existsSync, openSync, closeSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'
import {LaunchoError} from '../errors.js'
import {newSandboxCgroupName, removeSandboxCgroups} from './sandbox-cgroups.js'

const run = promisify(execFile)
const initScript = fileURLToPath(new URL('../../../templates/sandbox-init.sh', import.meta.url))

export interface Sandbox {
  /** PID (in the host's namespace) of the sandbox's systemd. */
  readonly pid1: number
  /** `DBUS_SYSTEM_BUS_ADDRESS` of the sandbox's system bus. */
  readonly busAddress: string
  /** Root to pass to `journalctl --root` (and `launcho server --journal-root`). */
  readonly journalRoot: string
  /** The sandbox's network namespace, for `nsenter --net=`. */
  readonly netns: string
  /** Environment for programs that should talk to the sandbox's systemd. */
  readonly env: Record<string, string>
  /** argv prefix that runs a command inside the sandbox's mount, PID and network namespaces. */
  inside(): string[]
  /** argv prefix that runs a command with the host's filesystem inside the sandbox's network. */
  inNetwork(): string[]
  /** Kills the sandbox's PID 1 (the kernel then ends every process in its PID namespace) and removes its cgroups. */
  stop(): Promise<void>
}

export interface SandboxOptions {
  /** Where systemd's own console output goes (default: discarded). */
  logFile?: string
  /** How long to wait for the bus to answer (ms). */
  bootTimeoutMs?: number
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  await checkPrerequisites()
  const output = options.logFile ? openSync(options.logFile, 'a') : 'ignore'
  const cgroup = newSandboxCgroupName()
  const unshare = spawn(
    'unshare',
    ['--pid', '--fork', '--mount', '--net', '--propagation', 'private', '/bin/sh', initScript],
    {stdio: ['ignore', output, output], detached: true, env: {...process.env, LAUNCHO_SANDBOX_CGROUP: cgroup}},
  )
  if (typeof output === 'number') closeSync(output)
  unshare.unref()
  let pid1: number
  try {
    pid1 = await waitForChild(unshare, options.bootTimeoutMs ?? 10_000)
  } catch (error) {
    await removeSandboxCgroups(cgroup)
    throw error
  }
  const sandbox = describe(pid1, unshare, cgroup)
  try {
    await waitForBus(sandbox, options.bootTimeoutMs ?? 10_000)
  } catch (error) {
    await sandbox.stop()
    throw error
  }
  return sandbox
}

async function checkPrerequisites(): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new LaunchoError('invalid_request', 'the sandbox needs root: it creates namespaces and boots systemd', {
      hint: 'run it as root (sudo launcho sandbox -- …)',
    })
  }
  for (const tool of ['unshare', 'nsenter', 'ip']) {
    try {
      await run('sh', ['-c', `command -v ${tool}`])
    } catch {
      throw new LaunchoError('invalid_request', `the sandbox needs "${tool}", which is not installed`, {
        hint: 'apt-get install util-linux iproute2',
      })
    }
  }
  if (!existsSync('/lib/systemd/systemd')) {
    throw new LaunchoError('invalid_request', 'the sandbox needs systemd installed at /lib/systemd/systemd', {
      hint: 'apt-get install systemd dbus',
    })
  }
}

function describe(pid1: number, unshare: ChildProcess, cgroup: string): Sandbox {
  const root = `/proc/${pid1}/root`
  const busAddress = `unix:path=${root}/run/dbus/system_bus_socket`
  return {
    pid1,
    busAddress,
    journalRoot: root,
    netns: `/proc/${pid1}/ns/net`,
    env: {DBUS_SYSTEM_BUS_ADDRESS: busAddress},
    inside: () => ['nsenter', '-t', String(pid1), '-m', '-p', '-n', '--'],
    inNetwork: () => ['nsenter', `--net=/proc/${pid1}/ns/net`, '--'],
    async stop() {
      try {
        process.kill(pid1, 'SIGKILL')
      } catch {
        // already gone
      }
      await new Promise<void>((resolve) => {
        if (unshare.exitCode !== null || unshare.signalCode !== null) return resolve()
        const timer = setTimeout(resolve, 5_000)
        unshare.once('exit', () => {
          clearTimeout(timer)
          resolve()
        })
      })
      const left = await removeSandboxCgroups(cgroup)
      if (left.length > 0) process.emitWarning(`the sandbox left ${left.length} cgroups it could not remove, e.g. ${left[0]}`)
    },
  }
}

/** `unshare --fork` runs the init script as its child; that child is the sandbox's PID 1. */
async function waitForChild(unshare: ChildProcess, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (unshare.exitCode !== null) {
      throw new LaunchoError('internal', `the sandbox exited during start-up (status ${unshare.exitCode})`, {
        hint: 'pass a log file to see what systemd said; the kernel may not allow new namespaces here',
      })
    }
    const children = await readFile(`/proc/${unshare.pid}/task/${unshare.pid}/children`, 'utf8').catch(() => '')
    const pid = Number.parseInt(children.trim().split(/\s+/)[0] ?? '', 10)
    if (Number.isInteger(pid) && pid > 0) return pid
    await delay(10)
  }
  throw new LaunchoError('internal', 'the sandbox did not start in time')
}

async function waitForBus(sandbox: Sandbox, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let lastError = ''
  while (Date.now() < deadline) {
    try {
      const {stdout} = await run('busctl', [
        `--address=${sandbox.busAddress}`,
        'get-property',
        'org.freedesktop.systemd1',
        '/org/freedesktop/systemd1',
        'org.freedesktop.systemd1.Manager',
        'SystemState',
      ])
      if (/running|degraded/.test(stdout)) return
      lastError = stdout.trim()
    } catch (error) {
      lastError = (error as Error).message
    }
    await delay(25)
  }
  throw new LaunchoError('internal', `the sandbox's systemd did not come up: ${lastError}`)
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
