/**
 * wrk (Debian's `wrk`), run inside a sandbox's network namespace, and its output parsed.
 * `close: true` adds `Connection: close` to every request through a one-line Lua script, so each
 * request pays a TCP handshake (and, through nftables, a new conntrack entry and a DNAT decision).
 */
import {execFile} from 'node:child_process'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'
import type {Harness} from '../../test/helpers/harness.js'

const run = promisify(execFile)

export interface WrkOptions {
  threads: number
  connections: number
  seconds: number
  close?: boolean
}

export interface WrkResult {
  rps: number
  p50Ms: number
  p99Ms: number
  /** Socket errors and non-2xx answers, as wrk words them; empty when none. */
  errors: string
  /**
   * SYNs the kernel had to send again in the namespace during the run (TcpExt TCPSynRetrans): each
   * is a connection that waited ≥ 1 s, which wrk's latency (request written → response) never shows.
   */
  synRetrans: number
}

/** wrk's banner line; fails with the install hint when wrk is missing. */
export async function checkWrk(): Promise<string> {
  // `wrk --version` prints its banner and exits 1.
  const banner = await run('wrk', ['--version']).then(
    ({stdout}) => stdout,
    (error: NodeJS.ErrnoException & {stdout?: string}) => {
      if (error.code === 'ENOENT') throw new Error('wrk is not installed: apt-get install wrk')
      return error.stdout ?? ''
    },
  )
  return banner.split('\n')[0]!.trim()
}

export function describeWrk(options: WrkOptions): string {
  return `wrk -t${options.threads} -c${options.connections} -d${options.seconds}s --latency${options.close ? ' -s close.lua (Connection: close)' : ''}`
}

export async function wrk(h: Harness, url: string, options: WrkOptions): Promise<WrkResult> {
  const args = [`-t${options.threads}`, `-c${options.connections}`, `-d${options.seconds}s`, '--latency', '--timeout', '5s']
  if (options.close) args.push('-s', await closeScript(h))
  const [nsenter, ...prefix] = h.sandbox.inNetwork()
  const synBefore = await synRetransmits(h)
  const {stdout} = await run(nsenter!, [...prefix, 'wrk', ...args, url], {timeout: (options.seconds + 30) * 1000})
  return {...parseWrk(stdout), synRetrans: (await synRetransmits(h)) - synBefore}
}

/** TcpExt TCPSynRetrans of the sandbox's network namespace (/proc/net is per namespace). */
async function synRetransmits(h: Harness): Promise<number> {
  const [nsenter, ...prefix] = h.sandbox.inNetwork()
  const {stdout} = await run(nsenter!, [...prefix, 'cat', '/proc/net/netstat'])
  const [names, values] = stdout.split('\n').filter((line) => line.startsWith('TcpExt:'))
  const index = names?.split(' ').indexOf('TCPSynRetrans') ?? -1
  return index < 0 ? 0 : Number(values?.split(' ')[index])
}

export function parseWrk(stdout: string): Omit<WrkResult, 'synRetrans'> {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1])
  const p50Ms = latencyMs(/^\s+50%\s+([\d.]+)(us|ms|s)\s*$/m.exec(stdout))
  const p99Ms = latencyMs(/^\s+99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(stdout))
  if (!Number.isFinite(rps) || !Number.isFinite(p50Ms) || !Number.isFinite(p99Ms)) throw new Error(`cannot read wrk's output:\n${stdout}`)
  const errors = [/Socket errors:.*/.exec(stdout)?.[0], /Non-2xx or 3xx responses:.*/.exec(stdout)?.[0]].filter(Boolean).join('; ')
  return {rps, p50Ms, p99Ms, errors}
}

function latencyMs(match: RegExpExecArray | null): number {
  if (!match) return Number.NaN
  const scale = {us: 0.001, ms: 1, s: 1000}[match[2] as 'us' | 'ms' | 's']
  return Number(match[1]) * scale
}

async function closeScript(h: Harness): Promise<string> {
  const path = join(h.dir, 'close.lua')
  await writeFile(path, 'wrk.headers["Connection"] = "close"\n')
  return path
}
