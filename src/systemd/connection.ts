/**
 * Keeps one SystemdManager connected: connects at start, and after the bus goes away (dbus
 * restarted, socket closed) reconnects with a capped backoff, logging both, and forwarding unit
 * changes to one listener.
 */
import type {Logger} from 'pino'
import type {CommandDropIns} from './command-drop-ins.js'
import {SystemdManager, type UnitChange} from './manager.js'

export interface ConnectionOptions {
  /** Journal fields every unit started gets (see SystemdManager). */
  stamp?: Record<string, string>
  /** While false, there is no manager to act through (the server does not own its systemd: owner-name.ts). */
  mayAct?: () => boolean
  dropIns?: CommandDropIns
}

export class SystemdConnection {
  private manager?: SystemdManager
  private stopped = false
  private retryTimer?: NodeJS.Timeout

  constructor(
    private readonly logger: Logger,
    private readonly onChange: (unit?: string, change?: UnitChange) => void,
    private readonly options: ConnectionOptions = {},
  ) {}

  /** The connected manager, or undefined while the bus is away (or the server may not act). */
  get current(): SystemdManager | undefined {
    if (this.options.mayAct && !this.options.mayAct()) return undefined
    return this.manager && !this.manager.isClosed ? this.manager : undefined
  }

  /** Connects once; throws when the bus cannot be reached at all at start-up. */
  async connect(): Promise<void> {
    this.adopt(await SystemdManager.connect({stamp: this.options.stamp, dropIns: this.options.dropIns}))
  }

  close(): void {
    this.stopped = true
    clearTimeout(this.retryTimer)
    this.manager?.close()
  }

  private adopt(manager: SystemdManager): void {
    this.manager = manager
    manager.on('changed', (unit: string, change?: UnitChange) => this.onChange(unit, change))
    manager.on('dropInFailed', (unit, error) =>
      this.logger.warn({unit, err: error.message}, "could not keep this unit's commands for a daemon-reload; after one, systemd cannot restart it (launcho still does)"),
    )
    manager.once('disconnected', (error) => {
      if (this.stopped) return
      this.logger.warn({err: error.message}, 'lost the system bus; reconnecting')
      this.reconnect(250)
    })
    this.logger.info({bus: manager.address}, 'connected to systemd')
  }

  private reconnect(delayMs: number): void {
    this.retryTimer = setTimeout(async () => {
      if (this.stopped) return
      try {
        this.adopt(await SystemdManager.connect({stamp: this.options.stamp, dropIns: this.options.dropIns}))
        this.logger.info('reconnected to systemd; resyncing')
        this.onChange()
      } catch (error) {
        this.logger.warn({err: (error as Error).message, retryInMs: delayMs}, 'systemd still unreachable')
        this.reconnect(Math.min(delayMs * 2, 5_000))
      }
    }, delayMs)
  }
}
