import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {LaunchoError} from '../../src/errors.js'
import {DEFAULT_LINES, MAX_LINES, parseLogsRequest} from '../../src/logs/logs-request.js'
import {parseUnixSeconds} from '../../src/logs/since.js'

function problemFields(fn: () => unknown): string[] {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof LaunchoError)
    assert.equal(error.code, 'invalid_request')
    return error.problems.map((problem) => problem.field!)
  }
  assert.fail('expected an invalid_request error')
}

describe('logs request', () => {
  it('defaults to the last lines of the current version, without follow', () => {
    assert.deepEqual(parseLogsRequest('web', {}), {process: 'web', lines: DEFAULT_LINES, follow: false, allVersions: false})
  })

  it('reads lines, since, follow and allVersions as the CLI sends them', () => {
    assert.deepEqual(parseLogsRequest('web-2', {lines: '0', since: '10 min ago', follow: 'true', allVersions: '1'}), {
      process: 'web-2',
      lines: 0,
      since: '10 min ago',
      follow: true,
      allVersions: true,
    })
    assert.equal(parseLogsRequest('web', {lines: String(MAX_LINES)}).lines, MAX_LINES)
  })

  it('names every bad parameter at once', () => {
    assert.deepEqual(problemFields(() => parseLogsRequest('Web_1', {lines: String(MAX_LINES + 1), follow: 'yes'})), ['process', 'lines', 'follow'])
    assert.deepEqual(problemFields(() => parseLogsRequest('web', {lines: '-5'})), ['lines'])
    assert.deepEqual(problemFields(() => parseLogsRequest('web', {lines: '1e3'})), ['lines'])
  })

  it('refuses a --since with characters no time needs (quotes, =, newlines) or too long', () => {
    for (const since of ['--output=verbose', "10 min ago'", 'today\n-f', 'x'.repeat(65)]) {
      assert.deepEqual(problemFields(() => parseLogsRequest('web', {since})), ['since'], since)
    }
    for (const since of ['-1h', '@1795310047.5', '2026-11-22 10:00:00', 'yesterday', '2026-11-22T10:00:00+01:00']) {
      assert.equal(parseLogsRequest('web', {since}).since, since)
    }
  })

  it('reads the time systemd-analyze prints for a --since', () => {
    assert.equal(parseUnixSeconds('   UNIX seconds: @1795309754.816537\n'), 1795309754816537)
    assert.equal(parseUnixSeconds('   UNIX seconds: @1795305600\n'), 1795305600000000)
    assert.equal(parseUnixSeconds('   UNIX seconds: @1795310047.5\n'), 1795310047500000)
    assert.equal(parseUnixSeconds('Failed to parse'), undefined)
  })
})
