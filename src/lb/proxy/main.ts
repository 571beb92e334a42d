/**
 * The userspace proxy process: `node dist/src/lb/proxy/main.js <config.json>`. It runs apart from
 * the launcho server (as launcho-proxy.service) so traffic keeps flowing while the server restarts.
 * It reads the config at start and again on SIGHUP, applying only the difference; it reports what
 * it serves in stats.json beside the config. A config it cannot read is reported there and the
 * previous one keeps being served.
 */
import {readFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {pino} from 'pino'
import {configHash, parseProxyConfig, STATS_FILE} from './config.js'
import {Proxy} from './proxy.js'
import {StatsWriter, type ProxyStats} from './stats.js'

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

const log = pino({level: process.env.LAUNCHO_LOG_LEVEL ?? 'info', base: {pid: process.pid, component: 'launcho-proxy'}})
const proxy = new Proxy(log)
let served: string | undefined
let rejected: ProxyStats['rejected']
const stats = new StatsWriter(
  join(dirname(configPath), STATS_FILE),
  () => ({pid: process.pid, config: served, ...(rejected ? {rejected} : {}), services: proxy.stats()}),
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
      proxy.apply(parseProxyConfig(text))
      log.info({config: hash.slice(0, 12), services: Object.keys(proxy.stats()).length}, 'config applied')
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
