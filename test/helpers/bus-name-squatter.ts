/**
 * A program that is not a launcho server and wants dev.launcho.Server: it asks for the name every
 * few milliseconds (on a new connection whenever the bus goes away) and keeps it once it has it,
 * printing "owned". Run with DBUS_SYSTEM_BUS_ADDRESS set, it takes the name in the moment a server
 * lost it with the bus, before the server can claim it again. It prints "trying" once its first
 * request was refused (a server holds the name): from then on it is polling.
 */
import dbus from 'dbus-next'

const NAME = 'dev.launcho.Server'
let saidTrying = false

async function tryOnce(): Promise<boolean> {
  const bus = dbus.systemBus()
  try {
    await new Promise<void>((resolve, reject) => {
      bus.once('connect', () => resolve())
      bus.once('error', reject)
    })
    if ((await bus.requestName(NAME, dbus.NameFlag.DO_NOT_QUEUE)) === dbus.RequestNameReply.PRIMARY_OWNER) {
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
