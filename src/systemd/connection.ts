/**
 * Keeps one SystemdManager connected: connects at start, and after the bus goes away (dbus
 * restarted, socket closed) reconnects with a capped backoff, logging both, and forwarding unit
 * changes to one listener.
 */
import type {Logger} from 'pino'
import {SystemdManager, type UnitChange} from './manager.js'

export interface ConnectionOptions {
  /** Journal fields every unit started gets (see SystemdManager). */
  stamp?: Record<string, string>
  /** While false, there is no manager to act through (the server does not own its systemd: owner-name.ts). */
  mayAct?: () => boolean
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
    this.adopt(await SystemdManager.connect(this.options.stamp))
  }

  close(): void {
    this.stopped = true
    clearTimeout(this.retryTimer)
    this.manager?.close()
  }

  private adopt(manager: SystemdManager): void {
    this.manager = manager
    manager.on('changed', (unit: string, change?: UnitChange) => this.onChange(unit, change))
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
        this.adopt(await SystemdManager.connect(this.options.stamp))
        this.logger.info('reconnected to systemd; resyncing')
        this.onChange()
      } catch (error) {
        this.logger.warn({err: (error as Error).message, retryInMs: delayMs}, 'systemd still unreachable')
        this.reconnect(Math.min(delayMs * 2, 5_000))
      }
    }, delayMs)
  }
}
