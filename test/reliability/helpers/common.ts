/** Small shared pieces of the reliability suite: reporting, state-dir reads, leak checks. */
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {readdir, readFile, stat} from 'node:fs/promises'
import type {TestContext} from 'node:test'
import type {Harness} from '../../helpers/harness.js'

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Prints what a case tried and saw, both in the test report and on the console. */
export function say(t: TestContext, message: string): void {
  t.diagnostic(message)
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

export async function readOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/** Names starting with "." in a directory (temp files of atomic writes and uploads). */
export async function dotFiles(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).filter((name) => name.startsWith('.'))
}

/** Peak resident set size of a process in MB (VmHWM). */
export async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1]
  if (kb === undefined) throw new Error(`no VmHWM in /proc/${pid}/status`)
  return Math.round(Number(kb) / 1024)
}

/** The token from the harness's client auth file. */
export async function tokenOf(h: Harness): Promise<string> {
  const token = /token: "?([0-9a-f]{64})/.exec(await readFile(h.authFile, 'utf8'))?.[1]
  if (!token) throw new Error('no token in the auth file')
  return token
}

/**
 * Asserts that none of `needles` (secret values, the token) appears in the server's log or in
 * the sandbox's journal. Returns how many bytes of each were searched.
 */
export async function assertNoLeaks(h: Harness, needles: string[], extraLogs: string[] = []): Promise<{serverLogBytes: number; journalBytes: number}> {
  const journal = await h.journal(['-o', 'cat', '--all']).catch((error: Error) => `journalctl failed: ${error.message}`)
  const journalExport = await h.journal(['-o', 'json']).catch(() => '')
  const logs = [h.serverLog, ...extraLogs].join('\n')
  const where = (text: string, needle: string) => {
    const at = text.indexOf(needle)
    return text.slice(Math.max(0, at - 300), at + needle.length + 100).replaceAll(needle, '<NEEDLE>')
  }
  for (const needle of needles) {
    assert.ok(needle.length >= 8, `needle too short to be meaningful: ${needle}`)
    assert.ok(!logs.includes(needle), `the server log contains ${needle.slice(0, 6)}…: ${where(logs, needle)}`)
    assert.ok(!journal.includes(needle), `the journal contains ${needle.slice(0, 6)}…: ${where(journal, needle)}`)
    assert.ok(!journalExport.includes(needle), `the journal (json) contains ${needle.slice(0, 6)}…`)
  }
  return {serverLogBytes: logs.length, journalBytes: journal.length}
}

/** mode as octal text, owner uid. */
export async function modeOf(path: string): Promise<{mode: string; uid: number}> {
  const s = await stat(path)
  return {mode: (s.mode & 0o777).toString(8), uid: s.uid}
}
