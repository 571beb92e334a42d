import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {propertyChanges} from '../../src/daemon/property-changes.js'
import type {RenderedUnit} from '../../src/daemon/unit-renderer.js'
import {toDbusProperties, type UnitSpec} from '../../src/systemd/unit-spec.js'

const spec = (version: string, over: Partial<UnitSpec> = {}): UnitSpec => ({
  name: `launcho-web-${version}.service`,
  description: `launcho web (${version})`,
  command: ['/usr/bin/node', 'server.js'],
  env: {SERVICE_PORT_WEB: '<port>'},
  environmentFile: `/var/lib/launcho/environments/launcho-web-${version}.env`,
  workingDirectory: `/var/lib/launcho/instances/launcho-web-${version}`,
  syslogIdentifier: 'web',
  journalFields: {LAUNCHO_PROCESS: 'web', LAUNCHO_VERSION: version},
  restartDelayMs: 100,
  stopTimeoutMs: 10_000,
  startTimeoutMs: 300_000,
  ...over,
})
const side = (version: string, over: Partial<UnitSpec> = {}) => {
  const unit: UnitSpec = spec(version, over)
  const rendered: RenderedUnit = {process: 'web', unit: unit.name, replica: 0, properties: toDbusProperties(unit), portsAssigned: false, environmentFile: unit.environmentFile!}
  return {rendered, version}
}

describe('property-level changes', () => {
  it('are empty when only the version differs (names, paths, journal fields)', () => {
    assert.deepEqual(propertyChanges(side('3f9a1c2e'), side('8d0c2b11')), [])
  })

  it('name each directive that moves, appears or goes', () => {
    const before = side('3f9a1c2e', {memoryMaxBytes: 512n * 1024n ** 2n, limits: {nice: 2}})
    const after = side('8d0c2b11', {memoryMaxBytes: 1024n ** 3n, limits: {cpuQuotaPerSecUSec: 500_000n}, command: ['/usr/bin/node', 'server.js', '--fast']})
    assert.deepEqual(propertyChanges(before, after).sort(), [
      '+CPUQuota=50%',
      '-Nice=2',
      'ExecStart ":/usr/bin/node" "server.js" → ":/usr/bin/node" "server.js" "--fast"',
      'MemoryMax 512M → 1G',
    ].sort())
  })
})
