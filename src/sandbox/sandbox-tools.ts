/**
 * The commands a user reaches for inside `launcho sandbox`, aimed at the sandbox rather than the
 * host: `launcho` (this very CLI, so it works from a clone where nothing is installed),
 * `systemctl` and `journalctl` (the sandbox's systemd and journal). They are small scripts in a
 * private directory put first on PATH, removed with the sandbox.
 */
import {constants} from 'node:fs'
import {access, chmod, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {delimiter, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const cli = fileURLToPath(new URL('../../../bin/launcho.js', import.meta.url))

/** A word quoted for sh: single quotes, with each ' written as '\''. */
const sh = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`

export interface SandboxTools {
  dir: string
  remove(): Promise<void>
}

export async function writeSandboxTools(pid1: number): Promise<SandboxTools> {
  const dir = await mkdtemp('/var/tmp/launcho-sandbox-bin-')
  const scripts: Record<string, string> = {
    launcho: `exec ${sh(process.execPath)} ${sh(cli)} "$@"`,
    // By absolute path: inside the sandbox this directory is still first on PATH.
    systemctl: `exec nsenter -t ${pid1} -m -p -n ${sh(await onPath('systemctl'))} "$@"`,
    journalctl: `exec nsenter -t ${pid1} -m -p ${sh(await onPath('journalctl'))} "$@"`,
  }
  for (const [name, body] of Object.entries(scripts)) {
    const path = join(dir, name)
    await writeFile(path, `#!/bin/sh\n# launcho sandbox: ${name} of the sandbox (PID 1 is ${pid1} on the host)\n${body}\n`)
    await chmod(path, 0o755)
  }
  await chmod(dir, 0o755)
  return {dir, remove: () => rm(dir, {recursive: true, force: true})}
}

async function onPath(command: string): Promise<string> {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const path = join(dir, command)
    if (await access(path, constants.X_OK).then(() => true, () => false)) return path
  }
  return `/usr/bin/${command}`
}
