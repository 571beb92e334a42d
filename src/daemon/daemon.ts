/**
 * `launcho server`: restores the state dir, connects to systemd, starts the reconciler and the
 * API, and on SIGTERM/SIGINT stops the API and the loop but never the processes it manages.
 */
import {hostname} from 'node:os'
import {join} from 'node:path'
import type {Logger} from 'pino'
import {createApiServer} from '../api/server.js'
import {loadOrCreateServerAuth} from '../api/server-auth.js'
import {registerLogRoutes} from '../api/routes/logs.js'
import {registerProcessRoutes} from '../api/routes/processes.js'
import {registerResourceRoutes} from '../api/routes/resources.js'
import {registerSecretRoutes} from '../api/routes/secrets.js'
import {registerStatusRoutes} from '../api/routes/status.js'
import {registerTargetRoutes} from '../api/routes/target.js'
import {EventLog} from '../events.js'
import {Journal} from '../logs/journal.js'
import {Reconciler} from '../reconcile/reconciler.js'
import {SecretRedactor} from '../secrets/redact.js'
import {GenerationStore} from '../store/generation-store.js'
import {ResourcePins} from '../store/resource-pins.js'
import {ResourceStore} from '../store/resource-store.js'
import {SecretStore} from '../store/secret-store.js'
import {StateDir} from '../store/state-dir.js'
import {loadVersionKey} from '../store/version-key.js'
import {TargetStore} from '../store/target-store.js'
import {SystemdConnection} from '../systemd/connection.js'
import {createBalancer} from '../lb/select.js'
import type {HostPort} from '../target/socket-overlap.js'
import {portRangeOf, splitHostPort, type ServerConfig} from './config.js'
import {StatusService} from './status-service.js'
import {TargetService} from './target-service.js'
import {packageVersion} from '../package-version.js'

export interface RunningDaemon {
  port: number
  stop(): Promise<void>
}

/** `redactor`: the one `logger` redacts its lines with; the daemon keeps it up to date with the secrets. */
export async function startDaemon(config: ServerConfig, logger: Logger, redactor = new SecretRedactor()): Promise<RunningDaemon> {
  const stateDir = new StateDir(config.stateDir, config.environmentsDir)
  await stateDir.ensure()
  const resources = new ResourceStore(join(stateDir.root, 'resources'))
  await resources.init()
  const {host, port} = splitHostPort(config.listen)
  // The host recorded for print-auth; operators usually override it with --host.
  const recordedHost = `${host === '0.0.0.0' || host === '::' ? hostname() : host}:${port === 0 ? 12888 : port}`
  const auth = await loadOrCreateServerAuth(stateDir.root, recordedHost, {logger})
  const events = new EventLog(500, (text) => redactor.redact(text))
  const journal = new Journal(config.journalRoot)
  let reconciler: Reconciler | undefined
  const systemd = new SystemdConnection(logger, () => reconciler?.kick())
  await systemd.connect()
  const balancer = await createBalancer(config.lb, {stateDir, systemd, logger, proxyWorkers: config.proxyWorkers})
  /** Known once the API listens (the configured port may be 0). */
  let apiAddress: HostPort | undefined
  reconciler = new Reconciler({
    systemd: () => systemd.current,
    journal,
    stateDir,
    logger: logger.child({component: 'reconciler'}),
    events,
    timings: {
      restartDelayMs: config.restartDelayMs,
      stopTimeoutMs: config.stopTimeoutSeconds * 1000,
      startTimeoutMs: config.startTimeoutSeconds * 1000,
    },
    resyncMs: config.resyncSeconds * 1000,
    portRange: portRangeOf(config),
    drainTimeoutMs: config.drainTimeoutSeconds * 1000,
    balancer,
    resources,
  })
  const targets = new TargetService(
    new TargetStore(stateDir.targetFile),
    new SecretStore(stateDir.secretsFile),
    new GenerationStore(stateDir.generationsFile),
    reconciler,
    events,
    logger,
    await loadVersionKey(stateDir.versionKeyFile),
    {
      resources,
      pins: new ResourcePins(join(stateDir.root, 'resource-pins.json')),
      api: () => apiAddress,
      portRange: portRangeOf(config),
      redactor,
    },
  )
  await targets.load()
  const status = new StatusService(packageVersion(), systemd, reconciler, targets, events, redactor)
  const api = await createApiServer({
    auth,
    logger,
    // No whole-request deadline: a resource upload takes as long as the link needs. Headers must
    // still arrive within 10 s, and a connection silent for 2 minutes is still cut.
    timeouts: {requestMs: 0},
    register(app) {
      registerTargetRoutes(app, targets)
      registerSecretRoutes(app, targets)
      registerStatusRoutes(app, status)
      registerLogRoutes(app, journal, () => reconciler?.getDesired())
      registerProcessRoutes(app, targets)
      registerResourceRoutes(app, resources, () => targets.resourceUsers())
    },
  })
  const listening = await api.listen(host, port)
  apiAddress = {host, port: listening.port}
  reconciler.start()
  logger.info({listen: `${host}:${listening.port}`, stateDir: stateDir.root, fingerprint: auth.fingerprint}, 'launcho server ready')
  return {
    port: listening.port,
    async stop() {
      await api.close()
      await reconciler?.stop()
      systemd.close()
      logger.info('launcho server stopped; the processes it manages keep running')
    },
  }
}
