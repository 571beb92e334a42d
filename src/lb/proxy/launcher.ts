/**
 * How the proxy process is run. By default as the transient unit launcho-proxy.service in
 * launcho.slice with Restart=always, so it outlives launcho server restarts; a server that starts
 * while the unit runs adopts it (StartTransientUnit answers UnitExists) instead of restarting it.
 * parseUnitName() does not match this name, so the reconciler never treats it as an instance.
 */
import {dirname} from 'node:path'
import {fileURLToPath} from 'node:url'
import {LaunchoError} from '../../errors.js'
import type {SystemdManager} from '../../systemd/manager.js'

export const PROXY_UNIT = 'launcho-proxy.service'
/** The compiled entry point, beside this file in dist/. */
export const proxyEntry = fileURLToPath(new URL('./main.js', import.meta.url))

const SIGHUP = 1

export interface ProxyLauncher {
  /** Makes sure a proxy serving `configPath` runs: 'started' if it had to start one. */
  ensure(configPath: string): Promise<'started' | 'adopted'>
  /** Asks the running proxy to re-read its config. */
  reload(): Promise<void>
  /** Where to look when the proxy misbehaves, for error hints. */
  readonly logsHint: string
}

export interface SystemdLauncherOptions {
  /** The node binary to run the proxy with (default: this process's). */
  nodePath?: string
  logLevel?: string
}

export class SystemdProxyLauncher implements ProxyLauncher {
  readonly logsHint = `see journalctl -u ${PROXY_UNIT}`

  constructor(
    private readonly systemd: () => SystemdManager | undefined,
    private readonly options: SystemdLauncherOptions = {},
  ) {}

  async ensure(configPath: string): Promise<'started' | 'adopted'> {
    let result: string
    try {
      result = await this.manager().start({
        name: PROXY_UNIT,
        description: 'launcho userspace load balancer',
        command: [this.options.nodePath ?? process.execPath, proxyEntry, configPath],
        env: {LAUNCHO_LOG_LEVEL: this.options.logLevel ?? 'info'},
        workingDirectory: dirname(configPath),
        syslogIdentifier: 'launcho-proxy',
        journalFields: {LAUNCHO_COMPONENT: 'proxy'},
        restartDelayMs: 200,
        stopTimeoutMs: 5_000,
        startTimeoutMs: 10_000,
      })
    } catch (error) {
      throw this.failure('could not start', error)
    }
    if (result === 'exists') return 'adopted'
    if (result !== 'done') {
      throw new LaunchoError('systemd_failed', `could not start ${PROXY_UNIT}: its start job ended "${result}"`, {hint: this.logsHint})
    }
    return 'started'
  }

  async reload(): Promise<void> {
    try {
      await this.manager().kill(PROXY_UNIT, SIGHUP, 'main')
    } catch (error) {
      throw this.failure('could not signal', error)
    }
  }

  private manager(): SystemdManager {
    const manager = this.systemd()
    if (!manager) {
      throw new LaunchoError('systemd_failed', `cannot manage ${PROXY_UNIT}: not connected to systemd`, {
        hint: 'launcho reconnects to the system bus by itself; the proxy keeps serving meanwhile',
      })
    }
    return manager
  }

  private failure(what: string, error: unknown): LaunchoError {
    if (error instanceof LaunchoError) return error
    return new LaunchoError('systemd_failed', `${what} ${PROXY_UNIT}: ${(error as Error).message}`, {hint: this.logsHint, cause: error})
  }
}
