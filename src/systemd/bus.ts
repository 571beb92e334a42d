/**
 * The system bus connection: method calls with a timeout (dbus-next has none), at most a bounded
 * number of them in flight (see limiter.ts), and a stream of signals from systemd. dbus-next is
 * imported here and in unit-spec.ts only.
 */
import {EventEmitter} from 'node:events'
import dbus from 'dbus-next'
import {LaunchoError} from '../errors.js'
import {Limiter} from './limiter.js'

const {Message, MessageType} = dbus

export const SYSTEMD = 'org.freedesktop.systemd1'
export const MANAGER_PATH = '/org/freedesktop/systemd1'
export const MANAGER_IFACE = 'org.freedesktop.systemd1.Manager'
export const PROPERTIES_IFACE = 'org.freedesktop.DBus.Properties'
export const SERVICE_IFACE = 'org.freedesktop.systemd1.Service'

/**
 * The signals launcho listens to: the manager's (JobRemoved, UnitNew, UnitRemoved) and property
 * changes of services. systemd sends the Service and the Unit interface's PropertiesChanged
 * together, so the Service one alone tells of every change of a service. Not asking for all of
 * systemd's signals matters at scale: each start also changes shutdown.target, basic.target,
 * launcho.slice, … whose signals list every unit that depends on them (1000 names at 1000
 * processes), which made parsing signals most of the server's CPU.
 */
const SIGNAL_MATCHES = [
  `type='signal',sender='${SYSTEMD}',path='${MANAGER_PATH}',interface='${MANAGER_IFACE}'`,
  `type='signal',sender='${SYSTEMD}',interface='${PROPERTIES_IFACE}',member='PropertiesChanged',arg0='${SERVICE_IFACE}'`,
]

export interface Signal {
  path: string
  iface: string
  member: string
  body: unknown[]
}

export interface CallOptions {
  path?: string
  iface?: string
  member: string
  signature?: string
  body?: unknown[]
  timeoutMs?: number
}

/** A D-Bus error reply, with systemd's error name (e.g. `org.freedesktop.systemd1.NoSuchUnit`). */
export class BusError extends LaunchoError {
  constructor(readonly errorName: string, message: string) {
    super('systemd_failed', message, {hint: `systemd answered ${errorName}; launcho looks again on its next pass`})
    this.name = 'BusError'
  }
}

/** The object is gone: a unit collected (or never loaded) between a listing and a call about it. */
export function isGone(error: unknown): boolean {
  return (
    error instanceof BusError &&
    (error.errorName === 'org.freedesktop.systemd1.NoSuchUnit' || error.errorName === 'org.freedesktop.DBus.Error.UnknownObject')
  )
}

/** StartTransientUnit of a name systemd has loaded already ("… was already loaded or has a fragment file"). */
export function isUnitExists(error: unknown): boolean {
  return error instanceof BusError && error.errorName === 'org.freedesktop.systemd1.UnitExists'
}

type BusEvents = {signal: [Signal]; disconnected: [Error]}

/** What SystemdManager needs of a bus connection (SystemBus; a fake in unit tests). */
export interface Bus extends EventEmitter<BusEvents> {
  readonly address: string
  readonly isClosed: boolean
  call(options: CallOptions, destination?: string): Promise<unknown[]>
  close(): void
}

export class SystemBus extends EventEmitter<BusEvents> implements Bus {
  private closed = false
  private readonly limiter = new Limiter()
  /** Calls sent and unanswered, to fail when the connection goes: dbus-next never settles them. */
  private readonly unanswered = new Set<(error: Error) => void>()

  private constructor(private readonly bus: dbus.MessageBus, readonly address: string) {
    super()
    bus.on('message', (message) => {
      if (message.type === MessageType.SIGNAL) {
        this.emit('signal', {path: message.path, iface: message.interface, member: message.member, body: message.body})
      }
    })
    bus.on('error', (error) => this.lose(error instanceof Error ? error : new Error(String(error))))
    const stream = (bus as unknown as {_connection?: {stream?: NodeJS.EventEmitter}})._connection?.stream
    stream?.on('close', () => this.lose(new Error('the system bus closed the connection')))
  }

  /** Connects to `DBUS_SYSTEM_BUS_ADDRESS` (or the default socket) and subscribes to systemd's signals. */
  static async connect(timeoutMs = 5_000): Promise<SystemBus> {
    const address = process.env.DBUS_SYSTEM_BUS_ADDRESS ?? 'unix:path=/var/run/dbus/system_bus_socket'
    const raw = dbus.systemBus()
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        raw.once('connect', () => resolve())
        raw.once('error', (error) => reject(error))
      }),
      timeoutMs,
      `connecting to the system bus at ${address}`,
    ).catch((error: Error) => {
      raw.disconnect()
      throw new LaunchoError('systemd_failed', `cannot reach the system bus at ${address}: ${error.message}`, {
        hint: 'is dbus running? For a sandbox, set DBUS_SYSTEM_BUS_ADDRESS to its bus',
      })
    })
    const bus = new SystemBus(raw, address)
    for (const rule of SIGNAL_MATCHES) {
      await bus.call({path: '/org/freedesktop/DBus', iface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: [rule]}, 'org.freedesktop.DBus')
    }
    await bus.call({member: 'Subscribe'})
    return bus
  }

  get isClosed(): boolean {
    return this.closed
  }

  async call(options: CallOptions, destination = SYSTEMD): Promise<unknown[]> {
    if (this.closed) throw new LaunchoError('systemd_failed', 'the system bus connection is closed')
    const message = new Message({
      destination,
      path: options.path ?? MANAGER_PATH,
      interface: options.iface ?? MANAGER_IFACE,
      member: options.member,
      signature: options.signature,
      body: options.body,
    })
    const timeoutMs = options.timeoutMs ?? 10_000
    const send = async () => {
      if (this.closed) throw new LaunchoError('systemd_failed', 'the system bus connection is closed')
      try {
        // Not Promise.race with one long-lived "gone" promise: each race would stay attached to it,
        // keeping every reply ever received in memory.
        const reply = await new Promise<dbus.Message | null>((resolve, reject) => {
          this.unanswered.add(reject)
          this.bus.call(message).then(resolve, reject).finally(() => this.unanswered.delete(reject))
        })
        return reply?.body ?? []
      } catch (error) {
        const dbusError = error as {type?: string; text?: string; message?: string}
        if (typeof dbusError.type === 'string') throw new BusError(dbusError.type, dbusError.text ?? dbusError.type)
        throw error
      }
    }
    return this.limiter.run(send, timeoutMs, () => new LaunchoError('systemd_failed', `D-Bus ${options.member} timed out after ${timeoutMs} ms`))
  }

  close(): void {
    this.closed = true
    this.failUnanswered(new LaunchoError('systemd_failed', 'the system bus connection is closed'))
    this.bus.disconnect()
  }

  private lose(error: Error): void {
    if (this.closed) return
    this.closed = true
    this.failUnanswered(new LaunchoError('systemd_failed', `lost the system bus: ${error.message}`))
    this.emit('disconnected', error)
  }

  private failUnanswered(error: Error): void {
    for (const reject of this.unanswered) reject(error)
    this.unanswered.clear()
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new LaunchoError('systemd_failed', `${what} timed out after ${ms} ms`)), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}
