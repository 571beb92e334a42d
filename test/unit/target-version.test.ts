import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {loadTarget} from '../../src/target/load.js'
import type {ProcessSpec} from '../../src/target/schema.js'
import {canonicalJson, versionOf} from '../../src/target/version.js'

/** Any fixed key: versions are keyed per server (store/version-key.ts). */
const key = Buffer.alloc(32, 7)

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
    assert.match(versionOf(base, key), /^[0-9a-f]{8}$/)
    assert.equal(versionOf(base, key), versionOf(structuredClone(base), key))
  })

  it('is keyed: another server key gives other versions, so a version cannot confirm a guessed secret', () => {
    const otherKey = Buffer.alloc(32, 8)
    const withSecret = (value: string) => ({...base, env: {...base.env, DB_PASS: value}})
    assert.notEqual(versionOf(base, otherKey), versionOf(base, key))
    assert.notEqual(versionOf(withSecret('hunter2'), key), versionOf(withSecret('hunter3'), key))
    assert.notEqual(versionOf(withSecret('hunter2'), otherKey), versionOf(withSecret('hunter2'), key))
  })

  it('ignores replicas and maxSurge: changing them scales, it replaces nothing', () => {
    assert.equal(versionOf({...base, replicas: 3, maxSurge: 2}, key), versionOf(base, key))
  })

  it('ignores the name, the order of env keys and of receives', () => {
    assert.equal(versionOf({...base, name: 'other'}, key), versionOf(base, key))
    assert.equal(versionOf({...base, env: {B: '2', A: '1'}}, key), versionOf(base, key))
    assert.equal(versionOf({...base, receives: ['admin', 'traffic']}, key), versionOf(base, key))
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
    const versions = new Set([versionOf(base, key), ...variants.map((v) => versionOf(v, key))])
    assert.equal(versions.size, variants.length + 1)
  })

  it('is the same for two texts differing only in env key order', () => {
    const text = (env: string) => `processes:\n  - name: web\n    command: [node]\n    env: {${env}}\n`
    const a = loadTarget(text('A: "${S}", B: 2'), new Map([['S', 'x']])).processes[0]
    const b = loadTarget(text('B: 2, A: "${S}"'), new Map([['S', 'x']])).processes[0]
    assert.equal(versionOf(a, key), versionOf(b, key))
  })

  it('changes when a secret the process uses changes', () => {
    const text = 'processes:\n  - name: web\n    command: [node]\n    env: {DB: "${DB_URL}"}\n'
    const before = loadTarget(text, new Map([['DB_URL', 'postgres://old']])).processes[0]
    const after = loadTarget(text, new Map([['DB_URL', 'postgres://new']])).processes[0]
    assert.notEqual(versionOf(before, key), versionOf(after, key))
  })
})

describe('canonicalJson', () => {
  it('sorts keys at every level and keeps array order', () => {
    assert.equal(canonicalJson({b: [2, 1], a: {d: null, c: 'x'}}), '{"a":{"c":"x","d":null},"b":[2,1]}')
  })
})
