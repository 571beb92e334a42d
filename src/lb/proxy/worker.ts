/**
 * One worker thread of the proxy (started by WorkerPool): it listens on every service address
 * itself (SO_REUSEPORT), relays the connections the kernel hands it, applies each config the main
 * thread sends, and reports its counts back whenever they change.
 */
import {parentPort, workerData} from 'node:worker_threads'
import {pino} from 'pino'
import {Proxy} from './proxy.js'
import type {FromWorker, ToWorker, WorkerReport, WorkerSetup} from './worker-messages.js'

/** How often the counts are compared with the last report (the stats file is written every 200 ms). */
const REPORT_INTERVAL_MS = 50

const port = parentPort!
const setup = workerData as WorkerSetup
const log = pino({level: setup.logLevel, base: {pid: process.pid, component: 'launcho-proxy', worker: setup.index}})
const proxy = new Proxy(log)

const report = (): WorkerReport => ({services: proxy.stats(), active: proxy.active()})
const send = (message: FromWorker) => port.postMessage(message)

let lastReport = ''
const reporter = setInterval(() => {
  const current = report()
  const text = JSON.stringify(current)
  if (text === lastReport) return
  lastReport = text
  send({type: 'report', report: current})
}, REPORT_INTERVAL_MS)

port.on('message', (message: ToWorker) => void handle(message))

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'apply': {
      let error: string | undefined
      try {
        await proxy.apply(message.config, message.sequences)
      } catch (cause) {
        error = (cause as Error).message
        log.error({err: (cause as Error).stack ?? error}, 'could not apply the config')
      }
      const current = report()
      lastReport = JSON.stringify(current)
      send({type: 'applied', id: message.id, report: current, ...(error ? {error} : {})})
      return
    }
    case 'close': {
      const drained = proxy.close(message.graceMs)
      send({type: 'stopped'})
      void drained.then(() => {
        clearInterval(reporter)
        process.exit(0)
      })
    }
  }
}

// Every socket has its error handler; this is the last line of defence for the other connections.
process.on('uncaughtException', (error) => log.error({err: error.stack ?? String(error)}, 'uncaught exception; worker continues'))
process.on('unhandledRejection', (error) => log.error({err: String(error)}, 'unhandled rejection; worker continues'))
