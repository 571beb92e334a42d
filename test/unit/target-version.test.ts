import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {loadTarget} from '../../src/target/load.js'
import type {ProcessSpec} from '../../src/target/schema.js'
import {canonicalJson, versionOf} from '../../src/target/version.js'

const base: ProcessSpec = {
  name: 'web',
  command: ['node', 'server.js'],
  env: {A: '1', B: '2'},
  cwd: '/srv/web',
  uid: 'www-data',
  gid: 'www-data',
  before: 'tar -xf b.tar',
  resources: [{id: 'abc123', file: 'b.tar'}],
  receives: ['traffic', 'admin'],
  health: {service: 'traffic', path: '/health'},
}

describe('versionOf', () => {
  it('is 8 hex characters and depends only on the spec', () => {
    assert.match(versionOf(base), /^[0-9a-f]{8}$/)
    assert.equal(versionOf(base), versionOf(structuredClone(base)))
  })

  it('ignores the name, the order of env keys and of receives', () => {
    assert.equal(versionOf({...base, name: 'other'}), versionOf(base))
    assert.equal(versionOf({...base, env: {B: '2', A: '1'}}), versionOf(base))
    assert.equal(versionOf({...base, receives: ['admin', 'traffic']}), versionOf(base))
  })

  it('changes when anything that affects the process changes', () => {
    const variants: ProcessSpec[] = [
      {...base, command: ['node', 'server.js', '--x']},
      {...base, command: ['node server.js']},
      {...base, env: {A: '1', B: '3'}},
      {...base, env: {A: '1'}},
      {...base, cwd: '/srv/other'},
      {...base, cwd: undefined},
      {...base, uid: '1000'},
      {...base, gid: '1000'},
      {...base, before: undefined},
      {...base, resources: [{id: 'abc124', file: 'b.tar'}]},
      {...base, resources: [{id: 'abc123', file: 'c.tar'}]},
      {...base, receives: ['traffic']},
      {...base, health: {service: 'traffic', path: '/ready'}},
      {...base, health: undefined},
    ]
    const versions = new Set([versionOf(base), ...variants.map(versionOf)])
    assert.equal(versions.size, variants.length + 1)
  })

  it('is the same for two texts differing only in env key order', () => {
    const text = (env: string) => `processes:\n  - name: web\n    command: [node]\n    env: {${env}}\n`
    const a = loadTarget(text('A: "${S}", B: 2'), new Map([['S', 'x']])).processes[0]
    const b = loadTarget(text('B: 2, A: "${S}"'), new Map([['S', 'x']])).processes[0]
    assert.equal(versionOf(a), versionOf(b))
  })

  it('changes when a secret the process uses changes', () => {
    const text = 'processes:\n  - name: web\n    command: [node]\n    env: {DB: "${DB_URL}"}\n'
    const before = loadTarget(text, new Map([['DB_URL', 'postgres://old']])).processes[0]
    const after = loadTarget(text, new Map([['DB_URL', 'postgres://new']])).processes[0]
    assert.notEqual(versionOf(before), versionOf(after))
  })
})

describe('canonicalJson', () => {
  it('sorts keys at every level and keeps array order', () => {
    assert.equal(canonicalJson({b: [2, 1], a: {d: null, c: 'x'}}), '{"a":{"c":"x","d":null},"b":[2,1]}')
  })
})
