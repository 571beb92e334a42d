import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {Instance} from '../../src/rollout/instance.js'

const id = {unit: 'launcho-web-aaaaaaaa.service', process: 'web', version: 'aaaaaaaa', replica: 0}

describe('an instance', () => {
  it('goes starting → checking → serving → draining → stopping → gone', () => {
    const instance = new Instance(id, {traffic: 20001}, 1, 'starting')
    assert.equal(instance.phase, 'starting')
    instance.started()
    assert.equal(instance.phase, 'checking')
    instance.watched()
    assert.equal(instance.facts(true, true).health, 'starting')
    instance.healthChanged('healthy', 50)
    assert.deepEqual(instance.facts(true, true), {phase: 'checking', health: 'healthy', lastOkAt: 50, membership: 'out'})
    instance.serve()
    assert.equal(instance.phase, 'serving')
    assert.equal(instance.membership, 'in')
    instance.drain(1_000, 30_000)
    assert.deepEqual(instance.facts(true, false), {phase: 'draining', health: 'healthy', membership: 'draining', drainSince: 1_000, drainDeadline: 31_000})
    instance.connections(3)
    assert.equal(instance.facts(true, false).activeConnections, 3)
    instance.stopping()
    assert.equal(instance.phase, 'stopping')
    assert.equal(instance.membership, 'out')
    instance.gone()
    assert.equal(instance.phase, 'gone')
  })

  it('fails when never healthy within its start-up deadline', () => {
    const instance = new Instance(id, {}, 1, 'starting')
    instance.started()
    instance.watched()
    instance.healthChanged('failed')
    assert.equal(instance.phase, 'failed')
    assert.equal(instance.facts(true, true).health, 'failed')
    // A fresh start of the same unit (a replace) is checked anew.
    instance.watched()
    assert.equal(instance.phase, 'checking')
  })

  it('leaves the balancer when its main process is gone, and serves again only through serve()', () => {
    const instance = new Instance(id, {traffic: 20001}, 1, 'serving')
    assert.equal(instance.mainProcessGone(), true)
    assert.equal(instance.membership, 'out')
    assert.equal(instance.phase, 'checking')
    assert.equal(instance.mainProcessGone(), false)
  })

  it('is healthy once active when nothing checks it, and starting while its check is expected', () => {
    const instance = new Instance(id, {}, 1, 'checking')
    assert.equal(instance.facts(true, false).health, 'healthy')
    assert.equal(instance.facts(false, false).health, 'starting')
    assert.equal(instance.facts(true, true).health, 'starting')
  })
})
