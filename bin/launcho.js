#!/usr/bin/env node
import {lstatSync, mkdirSync} from 'node:fs'
import {enableCompileCache} from 'node:module'
import {homedir} from 'node:os'
import {join} from 'node:path'

// V8's heap flags only count when V8 starts, so `launcho server` re-executes itself with them
// (execve: the same PID, so systemd's MainPID and the harness's child stay right). Node 24 lets
// the young generation grow to 128 MB when allocation is brisk (1000 units starting): with an
// 8 MB semi-space the server's RSS at 1000 processes is about 100 MB lower, and streaming a big
// resource keeps fewer dead chunks alive between scavenges. --expose-gc lets the server give the
// heap's pages back once a burst of work is over (src/daemon/memory-reducer.ts).
// MALLOC_ARENA_MAX: glibc gives each thread that allocates (libuv's pool, workers) an arena of
// its own, up to 8 per core, and each keeps its freed memory: two arenas (one per core here)
// made the server's RSS at 1000 processes ~9 MB lower. An operator's own setting wins.
const SERVER_V8_FLAGS = ['--max-semi-space-size=8', '--expose-gc']
const SERVER_ENV = {MALLOC_ARENA_MAX: '2', ...process.env}
if (process.argv[2] === 'server' && typeof process.execve === 'function' && !SERVER_V8_FLAGS.every((flag) => process.execArgv.includes(flag))) {
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...SERVER_V8_FLAGS, ...process.argv.slice(1)], SERVER_ENV)
}

/**
 * Compiling the CLI's ~400 modules is about a fifth of its start-up; V8 can keep the compiled code.
 * Only in a directory of the user's own home, never a shared one like /tmp: code read from a cache
 * runs as whoever reads it, so a cache another user can write would let them run code as root.
 * A home that is not the user's own (root with a user's HOME under sudo) gets no cache.
 */
function compileCacheDir() {
  const home = homedir()
  const uid = process.getuid?.()
  if (!home || uid === undefined) return undefined
  try {
    if (lstatSync(home).uid !== uid) return undefined
    const dir = join(home, '.cache', 'launcho', 'compile-cache')
    mkdirSync(dir, {recursive: true, mode: 0o700})
    for (const path of [join(home, '.cache'), join(home, '.cache', 'launcho'), dir]) {
      const stat = lstatSync(path)
      if (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o022) !== 0) return undefined
    }
    return dir
  } catch {
    return undefined
  }
}

// The server starts once and long-lived; only the CLI, started for every command, gains from it.
const cacheDir = process.env.LAUNCHO_NO_COMPILE_CACHE || process.argv[2] === 'server' ? undefined : compileCacheDir()
if (cacheDir && typeof enableCompileCache === 'function') enableCompileCache(cacheDir)

// A reader that stopped reading (`launcho t get | head`) ends a client command quietly, with 0
// (src/cli/closed-stdout.ts). The server, the demo and the sandbox have processes to end first.
if (!['server', 'demo', 'sandbox'].includes(process.argv[2])) {
  const {endQuietlyOnClosedStdout} = await import('../dist/src/cli/closed-stdout.js')
  endQuietlyOnClosedStdout()
}

// `launcho status`, `t set`, `secret set`, `restart`, `stop`, `start` and `rollback`, the commands
// run most, without loading oclif when they can (src/cli/quick-status.ts, quick-set.ts,
// quick-secret-set.ts, quick-process-deploy.ts); and `server`, which would keep oclif in memory
// for as long as it runs (src/cli/quick-server.ts).
const [command, subcommand] = process.argv.slice(2)
const quickPath = async () => {
  if (command === 'server') return (await import('../dist/src/cli/quick-server.js')).quickServer(process.argv.slice(3))
  if (command === 'status') return (await import('../dist/src/cli/quick-status.js')).quickStatus(process.argv.slice(3))
  if (['restart', 'stop', 'start', 'rollback'].includes(command)) {
    return (await import('../dist/src/cli/quick-process-deploy.js')).quickProcessDeploy(command, process.argv.slice(3))
  }
  if (subcommand !== 'set') return false
  if (command === 't' || command === 'target') return (await import('../dist/src/cli/quick-set.js')).quickSet(process.argv.slice(4))
  if (command === 's' || command === 'secret' || command === 'secrets') return (await import('../dist/src/cli/quick-secret-set.js')).quickSecretSet(process.argv.slice(4))
  return false
}
const quick = await quickPath().catch(() => false)

if (!quick) {
  const [{execute}, {expandTopicAlias}] = await Promise.all([import('@oclif/core'), import('../dist/src/cli/topic-alias.js')])
  await execute({args: expandTopicAlias(process.argv.slice(2)), dir: import.meta.url})
}
