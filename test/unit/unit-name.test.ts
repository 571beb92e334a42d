import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseUnitName, replicaOf, unitNameFromPath, unitNameOf, unitPathOf} from '../../src/systemd/unit-name.js'

describe('unit names', () => {
  it('keeps the name of earlier servers for replica 0 and adds the index for the others', () => {
    assert.equal(unitNameOf({process: 'web', version: '3f9a1c2e'}), 'launcho-web-3f9a1c2e.service')
    assert.equal(unitNameOf({process: 'web', version: '3f9a1c2e', replica: 0}), 'launcho-web-3f9a1c2e.service')
    assert.equal(unitNameOf({process: 'web', version: '3f9a1c2e', replica: 7}), 'launcho-web-3f9a1c2e-7.service')
    assert.throws(() => unitNameOf({process: 'web', version: '3f9a1c2e', replica: 100}), RangeError)
  })

  it('parses back process, version and replica, also for process names that look like versions', () => {
    for (const [process, replica] of [['web', 0], ['web', 42], ['a-12345678', 0], ['a-12345678', 3], ['x-1', 99]] as const) {
      const unit = unitNameOf({process, version: 'deadbeef', replica})
      assert.deepEqual(parseUnitName(unit), {process, version: 'deadbeef'}, unit)
      assert.equal(replicaOf(unit), replica, unit)
    }
    // An 8-hex-digit tail is a version, never a replica index.
    assert.deepEqual(parseUnitName('launcho-a-12345678-11111111.service'), {process: 'a-12345678', version: '11111111'})
    for (const bad of ['launcho-web-3f9a1c2e-0.service', 'launcho-web-3f9a1c2e-07.service', 'launcho-web-3f9a1c2e-100.service', 'launcho.check-web-3f9a1c2e-1.service']) {
      assert.equal(replicaOf(bad), undefined, bad)
    }
  })
})

describe('unit object paths', () => {
  it('escape every byte but letters and inner digits, as systemd does, and read back', () => {
    assert.equal(unitPathOf('launcho-web-3f9a1c2e.service'), '/org/freedesktop/systemd1/unit/launcho_2dweb_2d3f9a1c2e_2eservice')
    assert.equal(unitPathOf('1a.service'), '/org/freedesktop/systemd1/unit/_31a_2eservice')
    for (const unit of ['launcho-web-3f9a1c2e-12.service', 'launcho.check-x-00000000-deadbeef.service']) assert.equal(unitNameFromPath(unitPathOf(unit)), unit)
  })
})
