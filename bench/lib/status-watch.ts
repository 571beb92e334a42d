/** Runs status-loop.js in a sandbox's network and tells when `status` first shows COUNT running. */
import {spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import type {Harness} from '../../test/helpers/harness.js'

const loop = fileURLToPath(new URL('./status-loop.js', import.meta.url))

export interface StatusWatch {
  /** Epoch ms of the first answer with every process running, or undefined if none came. */
  allRunningAt?: number
  /** The last answer: running, processes, states (or the last error). */
  last: string
  answers: number
}

export function watchStatus(h: Harness, count: number, maxSeconds: number, pauseMs = 100): Promise<StatusWatch> {
  const [nsenter, ...prefix] = h.sandbox.inNetwork()
  const child = spawn(nsenter!, [...prefix, process.execPath, loop, String(h.port), h.authFile, String(count), String(maxSeconds), String(pauseMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const watch: StatusWatch = {last: 'no answer', answers: 0}
  let rest = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n')
    rest = lines.pop()!
    for (const line of lines) {
      const [at, running, ...more] = line.split(' ')
      watch.answers++
      watch.last = [running, ...more].join(' ')
      if (running === String(count)) watch.allRunningAt = Number(at)
    }
  })
  return new Promise((resolve) => child.on('close', () => resolve(watch)))
}
