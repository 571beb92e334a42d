/**
 * The demo's traffic: a few workers sending GET requests one after another, a new connection
 * each, until stopped; counts successes, failures and which greeting answered.
 */
import {get} from 'node:http'

export interface LoadReport {
  ok: number
  failed: number
  errors: Record<string, number>
  answers: Record<string, number>
}

export function startLoad(url: string, workers = 4): {stop(): Promise<LoadReport>; report(): LoadReport} {
  const report: LoadReport = {ok: 0, failed: 0, errors: {}, answers: {}}
  let stopping = false
  const fail = (why: string) => {
    report.failed++
    report.errors[why] = (report.errors[why] ?? 0) + 1
  }
  const one = () =>
    new Promise<void>((resolve) => {
      const request = get(url, {agent: false, timeout: 5_000}, (response) => {
        let body = ''
        response.on('data', (chunk: Buffer) => (body += chunk))
        response.on('end', () => {
          if (response.statusCode === 200) {
            report.ok++
            report.answers[body] = (report.answers[body] ?? 0) + 1
          } else fail(`HTTP ${response.statusCode}`)
          resolve()
        })
        response.on('error', (error: NodeJS.ErrnoException) => (fail(error.code ?? error.message), resolve()))
      })
      request.on('timeout', () => request.destroy(new Error('timeout')))
      request.on('error', (error: NodeJS.ErrnoException) => (fail(error.code ?? error.message), resolve()))
    })
  const worker = async () => {
    while (!stopping) await one()
  }
  const running = Promise.all(Array.from({length: workers}, worker))
  return {
    report: () => report,
    async stop() {
      stopping = true
      await running
      return report
    },
  }
}

/** One GET on a fresh connection (a kept-alive one would stay pinned to a draining instance). */
export function fetchOnce(url: string): Promise<string> {
  return new Promise((resolve) => {
    const request = get(url, {agent: false, timeout: 2_000}, (response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => (body += chunk))
      response.on('end', () => resolve(body))
      response.on('error', () => resolve(''))
    })
    request.on('timeout', () => request.destroy(new Error('timeout')))
    request.on('error', () => resolve(''))
  })
}
