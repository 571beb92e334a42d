/**
 * `launcho server`: makes sure it is the only server driving this systemd (owner-name.ts),
 * restores the state dir, connects to systemd, starts the reconciler and the API, and on
 * SIGTERM/SIGINT stops the API and the loop but never the processes it manages.
 */
import {hostname} from 'node:os'
import {join, resolve} from 'node:path'
import type {Logger} from 'pino'
import {createApiServer} from '../api/server.js'
import {loadOrCreateServerAuth} from '../api/server-auth.js'
import {registerEventRoutes} from '../api/routes/events.js'
import {registerLogRoutes} from '../api/routes/logs.js'
import {registerProcessRoutes} from '../api/routes/processes.js'
import {registerReleaseRoutes} from '../api/routes/releases.js'
import {registerRunRoutes} from '../api/routes/run.js'
import {registerResourceRoutes} from '../api/routes/resources.js'
import {registerSecretRoutes} from '../api/routes/secrets.js'
import {registerStatusRoutes} from '../api/routes/status.js'
import {registerTargetRoutes} from '../api/routes/target.js'
import type {LaunchoError} from '../errors.js'
import {EventLog} from '../events.js'
import {Journal} from '../logs/journal.js'
import {Reconciler} from '../reconcile/reconciler.js'
import {SecretRedactor} from '../secrets/redact.js'
import {GenerationStore} from '../store/generation-store.js'
import {ReleaseStore} from '../store/release-store.js'
import {ResourcePins} from '../store/resource-pins.js'
import {StoppedStore} from '../store/stopped-store.js'
import {FailedRolloutStore} from '../store/failed-rollout-store.js'
import {ResourceStore} from '../store/resource-store.js'
import {SecretStore} from '../store/secret-store.js'
import {StateDir} from '../store/state-dir.js'
import {loadVersionKey} from '../store/version-key.js'
import {TargetStore} from '../store/target-store.js'
import {SystemdConnection} from '../systemd/connection.js'
import {OWNER_NAME, OwnerName, type ServerIdentity} from '../systemd/owner-name.js'
import {CommandDropIns} from '../systemd/command-drop-ins.js'
import {createBalancer} from '../lb/select.js'
import {registerUnitRoutes} from '../api/routes/units.js'
import type {HostPort} from '../target/socket-overlap.js'
import {portRangeOf, splitHostPort, type ServerConfig} from './config.js'
import {serverIdOf} from './server-id.js'
import {ReleaseWatch} from './release-watch.js'
import {RunService} from './run-service.js'
import {StatusService} from './status-service.js'
import {TargetService} from './target-service.js'
import {MemoryReducer} from './memory-reducer.js'
import {ExposureService} from './exposure-service.js'
import {UnitRenderer} from './unit-renderer.js'
import {UnitService} from './unit-service.js'
import {packageVersion} from '../package-version.js'

export interface RunningDaemon {
  port: number
  /** Settles when the server must end on its own: another server took its systemd while the bus was away. */
  failed: Promise<LaunchoError>
  stop(): Promise<void>
}

/**
 * `redactor`: the one `logger` redacts its lines with; the daemon keeps it up to date with the secrets.
 * Throws `conflict`, having touched nothing, when another launcho server drives this systemd.
 */
export async function startDaemon(config: ServerConfig, logger: Logger, redactor = new SecretRedactor()): Promise<RunningDaemon> {
  const identity: ServerIdentity = {
    serverId: '',
    pid: process.pid,
    stateDir: resolve(config.stateDir),
    apiAddress: '',
    version: packageVersion(),
    startedAt: new Date().toISOString(),
  }
  const owner = await OwnerName.claim(identity, logger)
  try {
    return await startOwner(config, logger, redactor, owner)
  } catch (error) {
    owner.close()
    throw error
  }
}

async function startOwner(config: ServerConfig, logger: Logger, redactor: SecretRedactor, owner: OwnerName): Promise<RunningDaemon> {
  const stateDir = new StateDir(config.stateDir, config.environmentsDir)
  await stateDir.ensure()
  const versionKey = await loadVersionKey(stateDir.versionKeyFile)
  const serverId = serverIdOf(versionKey)
  owner.update({serverId})
  const resources = new ResourceStore(join(stateDir.root, 'resources'))
  await resources.init()
  const {host, port} = splitHostPort(config.listen)
  // The host recorded for print-auth; operators usually override it with --host.
  const recordedHost = `${host === '0.0.0.0' || host === '::' ? hostname() : host}:${port === 0 ? 12888 : port}`
  const auth = await loadOrCreateServerAuth(stateDir.root, recordedHost, {logger})
  const events = new EventLog(500, (text) => redactor.redact(text))
  const journal = new Journal(config.journalRoot)
  // The journal's root is the root of the systemd launcho drives (a sandbox's /proc/PID/root).
  const dropIns = new CommandDropIns(config.journalRoot)
  let reconciler: Reconciler | undefined
  const systemd = new SystemdConnection(logger, (unit, change) => reconciler?.onUnitChanged(unit, change), {
    stamp: {LAUNCHO_SERVER: serverId},
    mayAct: () => owner.held,
    dropIns,
  })
  owner.on('lost', (error) => logger.warn({err: error.message}, `lost the bus name ${OWNER_NAME}; not acting on systemd until this server owns it again`))
  owner.on('held', () => {
    logger.info(`owns ${OWNER_NAME} again; resyncing`)
    reconciler?.kick()
  })
  const failed = new Promise<LaunchoError>((resolve) => owner.once('taken', resolve))
  await systemd.connect()
  const balancer = await createBalancer(config.lb, {stateDir, systemd, logger, proxyWorkers: config.proxyWorkers})
  /** Known once the API listens (the configured port may be 0). */
  let apiAddress: HostPort | undefined
  const timings = {
    restartDelayMs: config.restartDelayMs,
    stopTimeoutMs: config.stopTimeoutSeconds * 1000,
    startTimeoutMs: config.startTimeoutSeconds * 1000,
  }
  const failedRollouts = new FailedRolloutStore(stateDir.failedRolloutsFile, (error) => logger.warn({err: error.message}, 'cannot keep the failed rollouts; a restart of the server would try them again'))
  reconciler = new Reconciler({
    systemd: () => systemd.current,
    journal,
    stateDir,
    logger: logger.child({component: 'reconciler'}),
    events,
    timings,
    resyncMs: config.resyncSeconds * 1000,
    portRange: portRangeOf(config),
    drainTimeoutMs: config.drainTimeoutSeconds * 1000,
    balancer,
    resources,
    dropIns,
    failedRollouts: {restored: await failedRollouts.load(), changed: (current) => void failedRollouts.save(current)},
  })
  const renderer = new UnitRenderer({
    stateDir,
    timings: reconciler.timings,
    stamp: {LAUNCHO_SERVER: serverId},
    ports: (unit) => reconciler?.registry.get(unit)?.ports,
  })
  const targets = new TargetService(
    new TargetStore(stateDir.targetFile),
    new SecretStore(stateDir.secretsFile),
    new GenerationStore(stateDir.generationsFile),
    reconciler,
    events,
    logger,
    versionKey,
    {
      resources,
      pins: new ResourcePins(join(stateDir.root, 'resource-pins.json')),
      api: () => apiAddress,
      portRange: portRangeOf(config),
      redactor,
      releases: new ReleaseStore(stateDir.releasesDir, config.releases, (message) => logger.warn(message)),
      stopped: new StoppedStore(stateDir.stoppedFile),
      servingUnits: () => new Set(reconciler?.registry.all().filter((instance) => instance.membership === 'in').map((instance) => instance.unit)),
      defaults: {sandbox: config.sandbox, ...(config.maxExposure === undefined ? {} : {maxExposure: config.maxExposure})},
      exposure: new ExposureService(stateDir, timings, undefined, (process, error) => logger.warn({process, err: error.message}, 'cannot measure the exposure of this process')),
      renderer,
    },
  )
  await targets.load()
  const units = new UnitService(targets, renderer)
  const runs = new RunService({
    systemd: () => systemd.current,
    runnable: () => targets.runnable(),
    stateDir,
    resources,
    timings,
    journal,
    logger: logger.child({component: 'runs'}),
  })
  const status = new StatusService(packageVersion(), systemd, reconciler, targets, events, redactor)
  // Judged from states alone: reading every unit's memory and CPU up to 4 times a second during a
  // rollout of 1000 processes would be systemd's busiest work for nothing.
  const releaseWatch = new ReleaseWatch(targets.releases, () => status.status(0, {usage: false}), events, logger.child({component: 'releases'}))
  targets.judgeReleasesWith(() => releaseWatch.settle())
  const api = await createApiServer({
    auth,
    logger,
    // No whole-request deadline: a resource upload takes as long as the link needs. Headers must
    // still arrive within 10 s, and a connection silent for 2 minutes is still cut.
    timeouts: {requestMs: 0},
    register(app) {
      registerTargetRoutes(app, targets, events)
      registerUnitRoutes(app, units)
      registerSecretRoutes(app, targets, events)
      registerStatusRoutes(app, status)
      registerEventRoutes(app, events)
      registerLogRoutes(app, journal, (process) => reconciler?.getDesired().get(process))
      registerProcessRoutes(app, targets, events)
      registerRunRoutes(app, runs)
      registerReleaseRoutes(app, targets, events, () => releaseWatch.settle())
      registerResourceRoutes(app, resources, {users: () => targets.resourceUsers(), remove: (id, remove) => targets.removeResource(id, remove)})
    },
  })
  const listening = await api.listen(host, port)
  apiAddress = {host, port: listening.port}
  owner.update({apiAddress: `${host.includes(':') ? `[${host}]` : host}:${listening.port}`})
  reconciler.start()
  releaseWatch.start()
  runs.startSweeping()
  const memory = new MemoryReducer({logger: logger.child({component: 'memory'})})
  memory.start()
  logger.info({listen: `${host}:${listening.port}`, stateDir: stateDir.root, fingerprint: auth.fingerprint, serverId}, 'launcho server ready')
  return {
    port: listening.port,
    failed,
    async stop() {
      memory.stop()
      await api.close()
      await releaseWatch.stop()
      await runs.stop()
      await reconciler?.stop()
      systemd.close()
      // Last: no other server may take this systemd while this one still acts on it.
      owner.close()
      logger.info('launcho server stopped; the processes it manages keep running')
    },
  }
}
