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
  setDesired(desired: DesiredState): void {
    this.desired = desired
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
})
