/**
 * A program that is not a launcho server and wants dev.launcho.Server: it asks for the name every
 * few milliseconds (on a new connection whenever the bus goes away) and keeps it once it has it,
 * printing "owned". Run with DBUS_SYSTEM_BUS_ADDRESS set, it takes the name in the moment a server
 * lost it with the bus, before the server can claim it again. It prints "trying" once its first
 * request was refused (a server holds the name): from then on it is polling. A try that gets no
 * answer within TRY_MS (a connection made to a dbus-daemon on its way down) is dropped for a new one.
 */
import dbus from 'dbus-next'

const NAME = 'dev.launcho.Server'
let saidTrying = false

/** Each try gives up after this long: a connection made while dbus-daemon restarts may never answer. */
const TRY_MS = 100

function within<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer')), TRY_MS)))
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

async function tryOnce(): Promise<boolean> {
  const bus = dbus.systemBus()
  bus.on('error', () => {})
  try {
    await within(
      new Promise<void>((resolve, reject) => {
        bus.once('connect', () => resolve())
        bus.once('error', reject)
      }),
    )
    if ((await within(bus.requestName(NAME, dbus.NameFlag.DO_NOT_QUEUE))) === dbus.RequestNameReply.PRIMARY_OWNER) {
      process.stdout.write('owned\n')
      return true
    }
    if (!saidTrying) process.stdout.write('trying\n')
    saidTrying = true
  } catch {
    // the bus is not there (yet)
  }
  bus.disconnect()
  return false
}

while (!(await tryOnce())) await new Promise((resolve) => setTimeout(resolve, 5))
