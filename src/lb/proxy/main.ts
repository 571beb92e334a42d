/**
 * The userspace proxy process: `node dist/src/lb/proxy/main.js <config.json>`. It runs apart from
 * the launcho server (as launcho-proxy.service) so traffic keeps flowing while the server restarts.
 * It reads the config at start and again on SIGHUP, applying only the difference; it reports what
 * it serves in stats.json beside the config. A config it cannot read is reported there and the
 * previous one keeps being served. The main thread only does that: the connections are accepted
 * and relayed by worker threads (worker-pool.ts), and a config counts as served once all of them
 * serve it.
 */
import {readFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {pino} from 'pino'
import {configHash, parseProxyConfig, STATS_FILE} from './config.js'
import {StatsWriter, type ProxyStats} from './stats.js'
import {WorkerPool} from './worker-pool.js'

const STATS_INTERVAL_MS = 200
/** Below systemd's stop timeout for the unit, so a stop drains before it kills. */
const SHUTDOWN_GRACE_MS = 3_000

const configPath = process.argv[2]
if (!configPath) {
  process.stderr.write('usage: node main.js <config.json>\n')
  process.exit(2)
}

let reloadRequested = false
process.on('SIGHUP', () => void reload())

const logLevel = process.env.LAUNCHO_LOG_LEVEL ?? 'info'
const log = pino({level: logLevel, base: {pid: process.pid, component: 'launcho-proxy'}})
const proxy = new WorkerPool(log, logLevel)
let served: string | undefined
let rejected: ProxyStats['rejected']
const stats = new StatsWriter(
  join(dirname(configPath), STATS_FILE),
  () => ({pid: process.pid, config: served, ...(rejected ? {rejected} : {}), services: proxy.stats(), workers: proxy.workers()}),
  STATS_INTERVAL_MS,
  (error) => log.warn({err: error.message}, 'cannot write the stats file'),
)

let loading: Promise<void> | undefined

/** Serialised: a SIGHUP during a load queues exactly one more load. */
async function reload(): Promise<void> {
  if (loading) {
    reloadRequested = true
    return
  }
  loading = load()
  await loading
  loading = undefined
  if (reloadRequested) {
    reloadRequested = false
    await reload()
  }
}

async function load(): Promise<void> {
  let hash: string | undefined
  try {
    const text = await readFile(configPath!, 'utf8')
    hash = configHash(text)
    if (hash !== served) {
      const config = parseProxyConfig(text)
      await proxy.apply(config)
      log.info({config: hash.slice(0, 12), services: config.services.length, workers: proxy.workers().length}, 'config applied')
      served = hash
    }
    rejected = undefined
  } catch (error) {
    rejected = {config: hash ?? '', error: (error as Error).message}
    log.error({config: configPath, err: rejected.error}, 'config rejected; still serving the previous one')
  }
  await stats.flush()
}

async function shutdown(signal: string): Promise<void> {
  log.info({signal, active: proxy.active()}, 'stopping: no new connections, draining the open ones')
  await proxy.close(SHUTDOWN_GRACE_MS)
  stats.stop()
  process.exit(0)
}
process.once('SIGTERM', () => void shutdown('SIGTERM'))
process.once('SIGINT', () => void shutdown('SIGINT'))
// Started by ChildProxyLauncher (tests, development): go when the parent goes.
if (process.send) process.once('disconnect', () => void shutdown('parent gone'))
// Every socket has its error handler; this is the last line of defence for the other connections.
process.on('uncaughtException', (error) => log.error({err: error.stack ?? String(error)}, 'uncaught exception; proxy continues'))
process.on('unhandledRejection', (error) => log.error({err: String(error)}, 'unhandled rejection; proxy continues'))

await reload()
