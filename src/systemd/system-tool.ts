/**
 * Where the server finds systemd's own programs (journalctl, systemd-analyze): in the system's
 * directories, never through PATH. The server runs as root, and inside `launcho sandbox` PATH
 * starts with wrappers that enter the sandbox's mount namespace: a journalctl found there reads
 * another /proc and finds no journal at `--root`, so `launcho logs` showed nothing.
 */
import {accessSync, constants} from 'node:fs'

const SYSTEM_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin']

const found = new Map<string, string>()

/** The absolute path of `program` in the system's directories; its bare name when none has it (the spawn then fails with ENOENT, reported as not installed). */
export function systemTool(program: string): string {
  let path = found.get(program)
  if (path === undefined) {
    path = SYSTEM_DIRS.map((dir) => `${dir}/${program}`).find(isExecutable) ?? program
    found.set(program, path)
  }
  return path
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}
