/**
 * Prints a run's items as they come: output chunks byte-exact to this process's stdout and stderr
 * (waiting while either is full, so a slow pipe holds the command back), a detached run's unit and
 * how to follow it, and how it ended; returns the exit status the CLI should have: the command's,
 * 128+n for a signal, 124 for --timeout, 130/143/141 when Ctrl-C, SIGTERM or a closed pipe ended it.
 */
import {constants} from 'node:os'
import type {Writable} from 'node:stream'
import type {RunItem} from '../protocol/run.js'

export interface RunStop {
  signal: AbortSignal
  /** Set by whatever aborted `signal`. */
  exitCode: number
}

const signalNames = new Map(Object.entries(constants.signals).map(([name, number]) => [number, name]))

export async function printRunItems(items: AsyncGenerator<RunItem>, options: {stop: RunStop; timeout?: string}): Promise<number> {
  let unit = ''
  try {
    for await (const item of items) {
      if ('started' in item) {
        unit = item.started.unit
        if (item.started.detached) {
          process.stdout.write(`${unit}\n`)
          process.stderr.write(`Started ${unit} (detached). Its output: journalctl -u ${unit} -f; its state: systemctl status ${unit}\n`)
          return 0
        }
      } else if ('stdout' in item) await writeAll(process.stdout, Buffer.from(item.stdout, 'base64'))
      else if ('stderr' in item) await writeAll(process.stderr, Buffer.from(item.stderr, 'base64'))
      else return exitStatus(item.exit, unit, options.timeout)
    }
  } catch (error) {
    if (options.stop.signal.aborted) return stopped(unit, options.stop.exitCode)
    throw error
  }
  if (options.stop.signal.aborted) return stopped(unit, options.stop.exitCode)
  process.stderr.write(`launcho: the server ended the answer before saying how ${unit || 'the run'} ended\n`)
  return 1
}

function stopped(unit: string, code: number): number {
  if (code !== 141) process.stderr.write(`launcho: stopping ${unit || 'the run'}\n`)
  return code || 130
}

function exitStatus(exit: Extract<RunItem, {exit: unknown}>['exit'], unit: string, timeout: string | undefined): number {
  if (exit.timedOut) {
    process.stderr.write(`launcho: ${unit} timed out after ${timeout ?? 'its time limit'} and was stopped\n`)
    return 124
  }
  if (exit.signal !== undefined) {
    process.stderr.write(`launcho: ${unit} was killed by signal ${exit.signal}/${signalNames.get(exit.signal) ?? '?'}${exit.reason ? ` (${exit.reason})` : ''}\n`)
    return 128 + exit.signal
  }
  if (exit.reason) process.stderr.write(`launcho: ${unit} could not run: ${exit.reason}\n`)
  return exit.code ?? 1
}

function writeAll(stream: Writable, data: Buffer): Promise<void> {
  if (stream.write(data)) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const done = () => {
      stream.off('error', fail)
      resolve()
    }
    const fail = (error: Error) => {
      stream.off('drain', done)
      reject(error)
    }
    stream.once('drain', done).once('error', fail)
  })
}
