/**
 * `resource rm` and `t set` take turns: a removal that arrives while a target naming the resource
 * is being validated (the store already read, the target not yet applied) waits for it, and is
 * then refused. Without the turn, both succeeded and the target ran with a resource that was gone.
 * Real TargetService, ResourceStore and resources route; only the timing is held still.
 */
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {after, before, describe, it} from 'node:test'
import Fastify from 'fastify'
import {pino} from 'pino'
import {registerResourceRoutes} from '../../src/api/routes/resources.js'
import {TargetService} from '../../src/daemon/target-service.js'
import {EventLog} from '../../src/events.js'
import type {DesiredState} from '../../src/reconcile/desired.js'
import type {Reconciler} from '../../src/reconcile/reconciler.js'
import {GenerationStore} from '../../src/store/generation-store.js'
import {ResourcePins} from '../../src/store/resource-pins.js'
import {ResourceStore} from '../../src/store/resource-store.js'
import {SecretStore} from '../../src/store/secret-store.js'
import {TargetStore} from '../../src/store/target-store.js'

class DesiredHolder {
  desired: DesiredState = new Map()
  setDesired(desired: DesiredState): void {
    this.desired = desired
  }
  getDesired(): DesiredState {
    return this.desired
  }
}

/** A store whose next listing, once read, is handed over only when the test says so. */
class HeldStore extends ResourceStore {
  private release?: () => void
  private held?: Promise<void>
  private listed?: () => void

  /** Resolves when the next listing has been read (and is being held). */
  holdNextListing(): Promise<void> {
    this.held = new Promise((resolve) => (this.release = resolve))
    return new Promise((resolve) => (this.listed = resolve))
  }

  letGo(): void {
    this.release?.()
  }

  override async ids(): Promise<string[]> {
    const ids = await super.ids()
    const held = this.held
    this.held = undefined
    if (held) {
      this.listed?.()
      await held
    }
    return ids
  }
}

describe('resource rm while a t set naming the resource is validated', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'launcho-resource-removal-'))
  })
  after(() => rm(dir, {recursive: true, force: true}))

  it('waits for the t set, then is refused; the resource stays and the target keeps it', async () => {
    const store = new HeldStore(join(dir, 'resources'))
    await store.init()
    const text = 'the bundle'
    const id = (await store.put(Readable.from([Buffer.from(text)]), {sha256: createHash('sha256').update(text).digest('hex'), name: 'b'})).info.id
    const holder = new DesiredHolder()
    const targets = new TargetService(
      new TargetStore(join(dir, 'target.yaml')),
      new SecretStore(join(dir, 'secrets.json')),
      new GenerationStore(join(dir, 'restarts.json')),
      holder as unknown as Reconciler,
      new EventLog(),
      pino({level: 'silent'}),
      Buffer.alloc(32, 3),
      {resources: store, pins: new ResourcePins(join(dir, 'resource-pins.json'))},
    )
    await targets.load()
    const app = Fastify()
    registerResourceRoutes(app, store, {users: () => targets.resourceUsers(), remove: (rid, remove) => targets.removeResource(rid, remove)})
    await app.ready()

    const listed = store.holdNextListing()
    const set = targets.setTarget(`processes:\n  - name: app\n    command: ["sleep", "600"]\n    resources: [{id: "${id}", file: b.txt}]\n`)
    await listed
    let answered = false
    const removal = app.inject({method: 'DELETE', url: `/v1/resources/${id}`}).then((reply) => ((answered = true), reply))
    // Give the removal every chance to run now, as it did before it took turns with t set.
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(answered, false, 'the removal waits for the t set in progress')
    store.letGo()
    await set
    const reply = await removal
    assert.equal(reply.statusCode, 409, reply.body)
    assert.match(reply.body, new RegExp(`resource ${id} is used by the target's process app; it was not removed`))
    assert.deepEqual(await store.ids(), [id], 'the resource is still stored')
    assert.equal(holder.getDesired().get('app')!.spec.resources[0]!.id, id)
    await app.close()
  })
})
