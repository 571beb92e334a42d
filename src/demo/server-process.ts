/** The demo's `launcho server` child, and waiting for things to become true. */
import {spawn, type ChildProcess} from 'node:child_process'
import {openSync} from 'node:fs'
import {connect} from 'node:net'

export async function startServer(launcho: string, stateDir: string, logFile: string): Promise<ChildProcess> {
  const log = openSync(logFile, 'a')
  const child = spawn(process.execPath, [launcho, 'server', '--state-dir', stateDir, '--listen', '127.0.0.1:12888'], {
    stdio: ['ignore', log, log],
  })
  let exited = false
  child.once('exit', () => (exited = true))
  await waitUntil(async () => {
    if (exited) throw new Error(`launcho server exited during start-up; see ${logFile}`)
    return listening(12888)
  }, 30_000)
  return child
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy()
      resolve(true)
    })
    socket.on('error', () => resolve(false))
  })
}

export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error('the demo timed out waiting for a step; run it with --keep and look at server.log')
}
