import assert from 'node:assert/strict'
import {PassThrough} from 'node:stream'
import {describe, it} from 'node:test'
import {LaunchoError} from '../../src/errors.js'
import {instanceOf, isoMicros, logEntryOf, type LogEntry} from '../../src/logs/log-entry.js'
import {printLogStream} from '../../src/logs/log-printer.js'
import {formatLogLine, localTimeMs} from '../../src/logs/log-text.js'

const entry: LogEntry = {
  time: '2026-11-22T10:00:01.123456Z',
  process: 'web',
  version: '3f9a1c2e',
  unit: 'launcho-web-3f9a1c2e.service',
  pid: 42,
  message: 'héllo',
  priority: 6,
}

async function print(chunks: Buffer[], json: boolean): Promise<{text: string; count: number}> {
  const out = new PassThrough()
  let text = ''
  out.on('data', (chunk: Buffer) => (text += chunk.toString()))
  const count = await printLogStream((async function* () {
    yield* chunks
  })(), out, {json})
  return {text, count}
}

describe('log lines', () => {
  it('builds an entry from journal fields, naming the instance by its unit', () => {
    const fields = {__REALTIME_TIMESTAMP: '1795341601123456', _SYSTEMD_UNIT: 'launcho-web-3f9a1c2e.service', _PID: '42', PRIORITY: '6', MESSAGE: 'héllo'}
    assert.deepEqual(logEntryOf(fields, instanceOf(fields)!), {...entry, time: '2026-11-22T10:00:01.123456Z'})
    assert.equal(isoMicros('1795341601000007'), '2026-11-22T10:00:01.000007Z')
  })

  it('takes the instance from journald\'s _SYSTEMD_UNIT only, never from fields a sender can write', () => {
    const forged = {LAUNCHO_PROCESS: 'web', LAUNCHO_VERSION: '3f9a1c2e', UNIT: 'launcho-web-3f9a1c2e.service', MESSAGE: 'x'}
    assert.equal(instanceOf(forged), undefined)
    assert.equal(instanceOf({...forged, _SYSTEMD_UNIT: 'session-3.scope'}), undefined)
    assert.deepEqual(instanceOf({...forged, _SYSTEMD_UNIT: 'launcho-api-0123abcd.service'}), {process: 'api', version: '0123abcd', unit: 'launcho-api-0123abcd.service'})
  })

  it('shows time, instance and message, with control characters made visible', () => {
    const line = formatLogLine({...entry, message: 'red \u001b[31mtext\u001b[0m\tend\r'})
    assert.match(line, /^2026-11-2\d \d\d:\d\d:01\.123 web@3f9a1c2e\[42\]: red \\x1b\[31mtext\\x1b\[0m\tend\\x0d$/)
    assert.match(formatLogLine({...entry, pid: null}), /web@3f9a1c2e: héllo$/)
  })

  it('shows times in the local time zone, to the millisecond', () => {
    const reference = (iso: string) => {
      const d = new Date(iso)
      const pad = (n: number, width = 2) => String(n).padStart(width, '0')
      return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
    }
    for (const iso of ['2026-11-22T23:59:59.999999Z', '2026-11-22T23:59:59.000001Z', '2026-11-23T00:00:00.500000Z', '2026-06-01T12:00:00.042000Z']) {
      assert.equal(localTimeMs(iso), reference(iso), iso)
    }
    assert.equal(localTimeMs('not a time'), 'not a time')
  })

  it('prints NDJSON split anywhere (even inside a UTF-8 character) as whole lines', async () => {
    const ndjson = Buffer.from(`${JSON.stringify(entry)}\n${JSON.stringify({...entry, message: 'second'})}\n`)
    const cut = ndjson.indexOf('é') + 1
    const json = await print([ndjson.subarray(0, cut), ndjson.subarray(cut)], true)
    assert.equal(json.text, ndjson.toString())
    assert.equal(json.count, 2)
    const human = await print([ndjson.subarray(0, cut), ndjson.subarray(cut)], false)
    assert.deepEqual(human.text.split('\n').map((l) => l.replace(/^.*?: /, '')), ['héllo', 'second', ''])
  })

  it('throws the error the server sent in the stream, after printing what came before', async () => {
    const out = new PassThrough()
    let text = ''
    out.on('data', (chunk: Buffer) => (text += chunk.toString()))
    const chunks = [Buffer.from(`${JSON.stringify(entry)}\n{"error":{"code":"internal","message":"journalctl failed","hint":"look"}}\n`)]
    await assert.rejects(printLogStream((async function* () {
      yield* chunks
    })(), out, {json: true}), (error: unknown) => error instanceof LaunchoError && error.code === 'internal' && error.hint === 'look')
    assert.equal(text, `${JSON.stringify(entry)}\n`)
  })

  it('reports a stream cut off in the middle of a line', async () => {
    await assert.rejects(print([Buffer.from('{"time":')], true), /ended in the middle of a line/)
  })
})
