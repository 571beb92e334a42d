import assert from 'node:assert/strict'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {pino} from 'pino'
import {TargetService} from '../../src/daemon/target-service.js'
import {EventLog} from '../../src/events.js'
import type {DesiredState} from '../../src/reconcile/desired.js'
import type {Reconciler} from '../../src/reconcile/reconciler.js'
import {GenerationStore} from '../../src/store/generation-store.js'
import {SecretStore} from '../../src/store/secret-store.js'
import {TargetStore} from '../../src/store/target-store.js'

const target = (generation: number) => `processes:\n  - name: app\n    command: ["sleep", "600"]\n    env: {GEN: "${generation}", SECRET: "\${SECRET_X}"}\n`

/** Stands in for the reconciler: only what TargetService hands it matters here. */
class DesiredHolder {
  desired: DesiredState = new Map()
  handedOver = 0
  setDesired(desired: DesiredState): void {
    this.desired = desired
    this.handedOver++
  }
  getDesired(): DesiredState {
    return this.desired
  }
}

describe('TargetService', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'launcho-target-service-'))
  })
  after(() => rm(dir, {recursive: true, force: true}))

  it('runs concurrent changes one at a time: what runs is what is stored', async () => {
    const holder = new DesiredHolder()
    const stores = {target: new TargetStore(join(dir, 'target.yaml')), secrets: new SecretStore(join(dir, 'secrets.json'))}
    const service = new TargetService(stores.target, stores.secrets, new GenerationStore(join(dir, 'restarts.json')), holder as unknown as Reconciler, new EventLog(), pino({level: 'silent'}), Buffer.alloc(32, 1))
    await service.load()
    await service.changeSecrets({SECRET_X: 's0'})
    await service.setTarget(target(0))
    // Sent together, as two operators might: each must see the other's result, not the state before.
    for (let round = 1; round <= 5; round++) {
      await Promise.all([service.setTarget(target(round)), service.changeSecrets({SECRET_X: `s${round}`}), service.restart('app')])
      const running = holder.getDesired().get('app')!.spec.env
      assert.deepEqual(running, {GEN: `${round}`, SECRET: `s${round}`}, `round ${round}`)
      assert.equal(stores.target.current().text, target(round))
      assert.equal(stores.secrets.get('SECRET_X'), `s${round}`)
    }
  })

  it('answers a t set of the text already applied without re-resolving it, but not once a secret or a restart changed what it means', async () => {
    const holder = new DesiredHolder()
    const sub = await mkdtemp(join(dir, 'same-'))
    const stores = {target: new TargetStore(join(sub, 'target.yaml')), secrets: new SecretStore(join(sub, 'secrets.json'))}
    const service = new TargetService(stores.target, stores.secrets, new GenerationStore(join(sub, 'restarts.json')), holder as unknown as Reconciler, new EventLog(), pino({level: 'silent'}), Buffer.alloc(32, 1))
    await service.load()
    await service.changeSecrets({SECRET_X: 'a'})
    await service.setTarget(target(0))
    const version = holder.getDesired().get('app')!.version
    const handedOver = holder.handedOver
    const again = await service.setTarget(target(0))
    assert.deepEqual(again.map(({process, change}) => ({process, change})), [{process: 'app', change: 'unchanged'}])
    assert.equal(holder.handedOver, handedOver, 'the same text with the same secrets is not resolved and handed over again')
    // A secret change or a restart in between is applied by itself; the same text afterwards changes nothing more.
    await service.changeSecrets({SECRET_X: 'b'})
    const afterSecret = holder.getDesired().get('app')!.version
    assert.notEqual(afterSecret, version)
    assert.equal((await service.setTarget(target(0)))[0]!.change, 'unchanged')
    assert.equal(holder.getDesired().get('app')!.spec.env.SECRET, 'b')
    await service.restart('app')
    assert.notEqual(holder.getDesired().get('app')!.version, afterSecret)
    assert.equal((await service.setTarget(target(0)))[0]!.change, 'unchanged')
    // Another text is resolved as ever.
    assert.equal((await service.setTarget(target(1)))[0]!.change, 'replace')
  })
})
