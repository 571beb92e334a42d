/**
 * The system bus connection: method calls with a timeout (dbus-next has none) and a stream of
 * signals from systemd. dbus-next is imported here and in manager.ts only.
 */
import {EventEmitter} from 'node:events'
import dbus from 'dbus-next'
import {LaunchoError} from '../errors.js'

const {Message, MessageType} = dbus

export const SYSTEMD = 'org.freedesktop.systemd1'
export const MANAGER_PATH = '/org/freedesktop/systemd1'
export const MANAGER_IFACE = 'org.freedesktop.systemd1.Manager'
export const PROPERTIES_IFACE = 'org.freedesktop.DBus.Properties'

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
export class BusError extends Error {
  constructor(readonly errorName: string, message: string) {
    super(message)
    this.name = 'BusError'
  }
}

export class SystemBus extends EventEmitter<{signal: [Signal]; disconnected: [Error]}> {
  private closed = false

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
    await bus.call({
      path: '/org/freedesktop/DBus',
      iface: 'org.freedesktop.DBus',
      member: 'AddMatch',
      signature: 's',
      body: [`type='signal',sender='${SYSTEMD}'`],
    }, 'org.freedesktop.DBus')
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
    try {
      const reply = await withTimeout(this.bus.call(message), options.timeoutMs ?? 10_000, `D-Bus ${options.member}`)
      return reply?.body ?? []
    } catch (error) {
      const dbusError = error as {type?: string; text?: string; message?: string}
      if (typeof dbusError.type === 'string') throw new BusError(dbusError.type, dbusError.text ?? dbusError.type)
      throw error
    }
  }

  close(): void {
    this.closed = true
    this.bus.disconnect()
  }

  private lose(error: Error): void {
    if (this.closed) return
    this.closed = true
    this.emit('disconnected', error)
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
