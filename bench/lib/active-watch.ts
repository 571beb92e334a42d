/**
 * When systemd has every instance active: the bench's own bus connection listens for JobRemoved
 * (the end of each unit's start job, what the floor waits for per unit) and notes when the N-th
 * distinct unit that `counts` names had its start job end `done`. Only JobRemoved is matched, so
 * the watcher adds no other traffic to the bus. */
import dbus from 'dbus-next'

export interface ActiveWatch {
  /** Epoch ms when `count` units had a start job done, or undefined if the watch was closed first. */
  allActive: Promise<number | undefined>
  /** Epoch ms when the first did. */
  firstActiveAt(): number | undefined
  /** Epoch ms of each unit's start job done, in order. */
  doneTimes(): number[]
  close(): void
}

const SYSTEMD = 'org.freedesktop.systemd1'
const MANAGER_IFACE = 'org.freedesktop.systemd1.Manager'

export async function watchActive(busAddress: string, count: number, counts: (unit: string) => boolean): Promise<ActiveWatch> {
  const bus = dbus.sessionBus({busAddress})
  const call = (destination: string, path: string, iface: string, member: string, signature = '', body: unknown[] = []) =>
    bus.call(new dbus.Message({destination, path, interface: iface, member, signature, body}))
  await call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'AddMatch', 's', [
    `type='signal',sender='${SYSTEMD}',interface='${MANAGER_IFACE}',member='JobRemoved'`,
  ])
  await call(SYSTEMD, '/org/freedesktop/systemd1', MANAGER_IFACE, 'Subscribe')
  const done = new Set<string>()
  const times: number[] = []
  let first: number | undefined
  let settle: (at: number | undefined) => void = () => {}
  const allActive = new Promise<number | undefined>((resolve) => (settle = resolve))
  bus.on('message', (message) => {
    if (message.type !== dbus.MessageType.SIGNAL || message.member !== 'JobRemoved') return
    const [, , unit, result] = message.body as [number, string, string, string]
    if (result !== 'done' || !counts(unit) || done.has(unit)) return
    done.add(unit)
    times.push(Date.now())
    first ??= Date.now()
    if (done.size === count) settle(Date.now())
  })
  return {
    allActive,
    firstActiveAt: () => first,
    doneTimes: () => [...times],
    close() {
      settle(undefined)
      bus.disconnect()
    },
  }
}
