/**
 * One launcho server per systemd. The server that drives a systemd owns the well-known name
 * dev.launcho.Server on that systemd's system bus, asked for with DO_NOT_QUEUE (a second claimant
 * is told "exists" at once instead of waiting in line), and exports who it is at
 * /dev/launcho/Server, so that a second server can name it when it refuses to start:
 *
 *   busctl get-property dev.launcho.Server /dev/launcho/Server dev.launcho.Server StateDir
 *
 * The system bus lets nobody own a name by default, root included: templates/dev.launcho.Server.conf
 * is the policy that allows it (installed by the package, put in place by the sandbox).
 *
 * The name lives on a connection of its own (systemd's signals do not reach it). It is held only
 * while that connection is up: when it drops (dbus restarted), `held` is false until the name is
 * claimed again, and the server must not act on systemd meanwhile. If another server took the
 * name in between, `taken` says who, and this one must stop.
 */
import {EventEmitter} from 'node:events'
import {fileURLToPath} from 'node:url'
import dbus from 'dbus-next'
import type {Logger} from 'pino'
import {LaunchoError} from '../errors.js'

const {Message, MessageType, NameFlag, RequestNameReply, Variant} = dbus

export const OWNER_NAME = 'dev.launcho.Server'
export const OWNER_PATH = '/dev/launcho/Server'
export const OWNER_IFACE = 'dev.launcho.Server'
const BUS_NAME = 'org.freedesktop.DBus'
const POLICY_FILE = fileURLToPath(new URL('../../../templates/dev.launcho.Server.conf', import.meta.url))
const CALL_TIMEOUT_MS = 5_000
const MAX_RETRY_MS = 5_000

/** Who a server is, as it tells a second one (and busctl). */
export interface ServerIdentity {
  /** Also in every unit it starts, as the journal field LAUNCHO_SERVER. */
  serverId: string
  /** In the server's own PID namespace. */
  pid: number
  stateDir: string
  /** HOST:PORT of its API; empty until it listens. */
  apiAddress: string
  version: string
  /** ISO 8601. */
  startedAt: string
}

/** The exported object: read-only properties, read from `identity` at each Get. */
class ServerInterface extends dbus.interface.Interface {
  constructor(private readonly identity: ServerIdentity) {
    super(OWNER_IFACE)
  }
  get ServerId(): string {
    return this.identity.serverId
  }
  get Pid(): number {
    return this.identity.pid
  }
  get StateDir(): string {
    return this.identity.stateDir
  }
  get ApiAddress(): string {
    return this.identity.apiAddress
  }
  get Version(): string {
    return this.identity.version
  }
  get StartedAt(): string {
    return this.identity.startedAt
  }
}

const PROPERTY_OF = {serverId: 'ServerId', pid: 'Pid', stateDir: 'StateDir', apiAddress: 'ApiAddress', version: 'Version', startedAt: 'StartedAt'} as const
const read = dbus.interface.ACCESS_READ
ServerInterface.configureMembers({
  properties: {
    ServerId: {signature: 's', access: read},
    Pid: {signature: 'u', access: read},
    StateDir: {signature: 's', access: read},
    ApiAddress: {signature: 's', access: read},
    Version: {signature: 's', access: read},
    StartedAt: {signature: 's', access: read},
  },
})

type OwnerEvents = {lost: [Error]; held: []; taken: [LaunchoError]}

export class OwnerName extends EventEmitter<OwnerEvents> {
  private bus?: dbus.MessageBus
  private exported?: ServerInterface
  private holding = false
  private stopped = false
  private retryTimer?: NodeJS.Timeout

  private constructor(
    private readonly identity: ServerIdentity,
    private readonly logger: Logger,
  ) {
    super()
  }

  /**
   * Owns the name or throws: `conflict` naming the server that owns it, or `systemd_failed` when the
   * bus cannot be reached or its policy does not allow the name.
   */
  static async claim(identity: ServerIdentity, logger: Logger): Promise<OwnerName> {
    const owner = new OwnerName({...identity}, logger)
    await owner.claimOnce()
    return owner
  }

  /** True while this server owns the name: only then may it act on systemd. */
  get held(): boolean {
    return this.holding
  }

  /** Changes what this server says of itself (its API address once it listens). */
  update(changes: Partial<ServerIdentity>): void {
    Object.assign(this.identity, changes)
    if (!this.exported) return
    const changed = Object.fromEntries(Object.entries(changes).map(([key, value]) => [PROPERTY_OF[key as keyof ServerIdentity], value]))
    dbus.interface.Interface.emitPropertiesChanged(this.exported, changed, [])
  }

  /** Gives the name up (the connection ends with it). */
  close(): void {
    this.stopped = true
    this.holding = false
    clearTimeout(this.retryTimer)
    this.bus?.disconnect()
  }

  private async claimOnce(): Promise<void> {
    const bus = await connect()
    // From the start: an error event without a listener would end the process. `lose` ignores a
    // connection that does not hold the name yet.
    const lose = (error: Error) => this.lose(bus, error)
    bus.on('error', (error) => lose(error instanceof Error ? error : new Error(String(error))))
    streamOf(bus)?.on('close', () => lose(new Error('the system bus closed the connection')))
    bus.on('message', (message) => {
      if (message.type === MessageType.SIGNAL && message.interface === BUS_NAME && message.member === 'NameLost' && message.body[0] === OWNER_NAME) {
        lose(new Error(`the bus took ${OWNER_NAME} away`))
      }
    })
    // Exported before the name is taken: whoever sees the name can ask who owns it.
    const exported = new ServerInterface(this.identity)
    try {
      bus.export(OWNER_PATH, exported)
      const reply = await withTimeout(bus.requestName(OWNER_NAME, NameFlag.DO_NOT_QUEUE), 'RequestName').catch((error: unknown) => {
        throw refusedByPolicy(error)
      })
      if (reply === RequestNameReply.EXISTS) throw await anotherServer(bus)
      if (reply !== RequestNameReply.PRIMARY_OWNER && reply !== RequestNameReply.ALREADY_OWNER) {
        throw new LaunchoError('systemd_failed', `the system bus answered ${reply} to RequestName(${OWNER_NAME})`)
      }
    } catch (error) {
      bus.disconnect()
      if (error instanceof LaunchoError) throw error
      throw new LaunchoError('systemd_failed', `could not own ${OWNER_NAME} on the system bus: ${(error as Error).message}`, {
        hint: 'check that dbus is running and answering (busctl status)',
      })
    }
    this.bus = bus
    this.exported = exported
    this.holding = true
  }

  private lose(bus: dbus.MessageBus, error: Error): void {
    if (this.stopped || this.bus !== bus) return
    this.bus = undefined
    this.exported = undefined
    this.holding = false
    bus.disconnect()
    this.emit('lost', error)
    this.reclaim(250)
  }

  private reclaim(delayMs: number): void {
    this.retryTimer = setTimeout(async () => {
      if (this.stopped) return
      try {
        await this.claimOnce()
        if (this.stopped) return this.close()
        this.emit('held')
      } catch (error) {
        if (this.stopped) return
        if (error instanceof LaunchoError && error.code === 'conflict') {
          this.stopped = true
          this.emit('taken', error)
          return
        }
        this.logger.warn({err: (error as Error).message, retryInMs: delayMs}, `cannot own ${OWNER_NAME} again yet; not acting on systemd meanwhile`)
        this.reclaim(Math.min(delayMs * 2, MAX_RETRY_MS))
      }
    }, delayMs)
  }
}

async function connect(): Promise<dbus.MessageBus> {
  const address = process.env.DBUS_SYSTEM_BUS_ADDRESS ?? 'unix:path=/var/run/dbus/system_bus_socket'
  const bus = dbus.systemBus()
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        bus.once('connect', () => resolve())
        bus.once('error', (error) => reject(error))
      }),
      'connecting to the system bus',
    )
    return bus
  } catch (error) {
    bus.on('error', () => undefined)
    bus.disconnect()
    throw new LaunchoError('systemd_failed', `cannot reach the system bus at ${address}: ${(error as Error).message}`, {
      hint: 'is dbus running? For a sandbox, set DBUS_SYSTEM_BUS_ADDRESS to its bus',
    })
  }
}

/** What the bus says when its policy does not let root own the name. */
function refusedByPolicy(error: unknown): Error {
  const dbusError = error as {type?: string; text?: string}
  if (dbusError.type === 'org.freedesktop.DBus.Error.AccessDenied') {
    return new LaunchoError('systemd_failed', `the system bus does not let this server own ${OWNER_NAME}, which makes it the only launcho server driving this systemd: ${dbusError.text ?? 'access denied'}`, {
      hint: `install the bus policy: cp ${POLICY_FILE} /etc/dbus-1/system.d/ (the package installs it in /usr/share/dbus-1/system.d/; dbus-daemon reads it at once) and start the server again`,
    })
  }
  return error instanceof Error ? error : new Error(String(error))
}

/** The refusal naming the server that owns the name, from what it exports (or what the bus knows of it). */
async function anotherServer(bus: dbus.MessageBus): Promise<LaunchoError> {
  const other = await describeOwner(bus)
  return new LaunchoError('conflict', `another launcho server already drives this systemd: ${other.text}; this server did not start and changed nothing`, {
    hint: `stop that server first${other.pid ? ` (kill ${other.pid}, or systemctl stop launcho)` : ''}, or point this one at another systemd's bus (DBUS_SYSTEM_BUS_ADDRESS); one systemd has one launcho server`,
  })
}

async function describeOwner(bus: dbus.MessageBus): Promise<{text: string; pid?: number}> {
  try {
    const [properties] = (await call(bus, OWNER_NAME, OWNER_PATH, 'org.freedesktop.DBus.Properties', 'GetAll', 's', [OWNER_IFACE])) as [Record<string, InstanceType<typeof Variant>>]
    const value = (key: string) => properties[key]?.value as string | number | undefined
    const pid = Number(value('Pid')) || undefined
    const parts = [
      `PID ${pid ?? '?'}`,
      `state dir ${value('StateDir') || '?'}`,
      `API ${value('ApiAddress') || '(not listening yet)'}`,
    ]
    const about = [`launcho ${value('Version') ?? '?'}`, `server id ${value('ServerId') || '?'}`, value('StartedAt') ? `since ${value('StartedAt')}` : undefined]
    return {text: `${parts.join(', ')} (${about.filter(Boolean).join(', ')})`, ...(pid ? {pid} : {})}
  } catch (error) {
    // Not a launcho server answering (hung, or something else owns the name): say what the bus knows.
    const unique = await call(bus, BUS_NAME, '/org/freedesktop/DBus', BUS_NAME, 'GetNameOwner', 's', [OWNER_NAME]).then(([name]) => String(name), () => '?')
    const pid = await call(bus, BUS_NAME, '/org/freedesktop/DBus', BUS_NAME, 'GetConnectionUnixProcessID', 's', [OWNER_NAME]).then(([value]) => Number(value) || undefined, () => undefined)
    return {
      text: `the bus connection ${unique}${pid ? ` of PID ${pid} (as the bus sees it)` : ''} owns ${OWNER_NAME} and did not say who it is (${(error as Error).message})`,
      ...(pid ? {pid} : {}),
    }
  }
}

async function call(bus: dbus.MessageBus, destination: string, path: string, iface: string, member: string, signature: string, body: unknown[]): Promise<unknown[]> {
  const reply = await withTimeout(bus.call(new Message({destination, path, interface: iface, member, signature, body})), member)
  return reply?.body ?? []
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} timed out after ${CALL_TIMEOUT_MS} ms`)), CALL_TIMEOUT_MS)
    promise.then(
      (value) => (clearTimeout(timer), resolve(value)),
      (error: unknown) => (clearTimeout(timer), reject(error)),
    )
  })
}

/** dbus-next reports a closed socket nowhere else. */
function streamOf(bus: dbus.MessageBus): NodeJS.EventEmitter | undefined {
  return (bus as unknown as {_connection?: {stream?: NodeJS.EventEmitter}})._connection?.stream
}
