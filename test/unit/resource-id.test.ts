import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {LaunchoError} from '../../src/errors.js'
import {assertIdOrPrefix, assertResourceId} from '../../src/store/resource-id.js'

const id = 'ab'.repeat(32)

function refusal(action: () => void): LaunchoError {
  try {
    action()
  } catch (error) {
    assert.ok(error instanceof LaunchoError)
    assert.equal(error.code, 'invalid_request')
    assert.match(error.hint ?? '', /64 lowercase hex digits .* at least 8/)
    return error
  }
  assert.fail('accepted')
}

describe('resource ids', () => {
  test('a full id is exactly 64 lowercase hex digits', () => {
    assertResourceId(id)
    assert.match(refusal(() => assertResourceId(id.slice(0, 63))).message, /exactly 64 lowercase hex digits/)
    refusal(() => assertResourceId(id.toUpperCase()))
    refusal(() => assertResourceId(`${id}0`))
  })

  test('users may give a prefix of 8 to 64 lowercase hex digits', () => {
    for (const ok of [id, id.slice(0, 8), id.slice(0, 33)]) assertIdOrPrefix(ok)
    assert.match(refusal(() => assertIdOrPrefix('abcdef1')).message, /a prefix needs at least 8 hex digits/)
    assert.match(refusal(() => assertIdOrPrefix(`${id}a`)).message, /at most 64 hex digits/)
    assert.match(refusal(() => assertIdOrPrefix('ABCDEF12')).message, /ids are lowercase hex/)
  })

  test('path tricks are refused and shown escaped, never used', () => {
    for (const bad of ['../../etc/passwd', '..', '', 'abcdef12/..', 'abcdef12\u0000', 'abcdef12 ', 'abcdéf12']) {
      assert.match(refusal(() => assertIdOrPrefix(bad)).message, /ids contain only the hex digits 0-9 and a-f|at least 8/, bad)
    }
    assert.match(refusal(() => assertIdOrPrefix('abcdef12\u0000')).message, /"abcdef12\\u0000"/)
    assert.ok(refusal(() => assertIdOrPrefix('x'.repeat(10_000))).message.length < 200, 'hostile input is cut short')
  })
})
