/**
 * What only the server can judge, refused by TargetService when a target is set (or a secret
 * changed): users and groups NSS does not know, resource ids that name no stored resource or more
 * than one, services on the API's own address or in the SERVICE_PORT range. And resource
 * prefixes, resolved to full ids when set, that a later upload cannot make ambiguous.
 */
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {mkdtemp, rm, stat} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {after, before, beforeEach, describe, it} from 'node:test'
import {pino} from 'pino'
import {knownInNss} from '../../src/daemon/nss.js'
import {TargetService, type TargetServiceOptions} from '../../src/daemon/target-service.js'
import {LaunchoError, formatProblem} from '../../src/errors.js'
import {EventLog} from '../../src/events.js'
import type {DesiredState} from '../../src/reconcile/desired.js'
import type {Reconciler} from '../../src/reconcile/reconciler.js'
import {GenerationStore} from '../../src/store/generation-store.js'
import {ResourcePins} from '../../src/store/resource-pins.js'
import {ResourceStore} from '../../src/store/resource-store.js'
import {SecretStore} from '../../src/store/secret-store.js'
import {TargetStore} from '../../src/store/target-store.js'
import {socketsOverlap, splitHostPort} from '../../src/target/socket-overlap.js'

class DesiredHolder {
  desired: DesiredState = new Map()
  setDesired(desired: DesiredState): void {
    this.desired = desired
  }
  getDesired(): DesiredState {
    return this.desired
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/** Two texts whose SHA-256 ids share their first 8 hex digits (a birthday search over ~2^16). */
function collidingContents(): [string, string] {
  const seen = new Map<string, string>()
  for (let i = 0; ; i++) {
    const text = `collide-${i}`
    const prefix = sha256(text).slice(0, 8)
    const other = seen.get(prefix)
    if (other !== undefined) return [other, text]
    seen.set(prefix, text)
  }
}

describe('TargetService: checks against this server', () => {
  let dir: string
  let resources: ResourceStore
  let holder: DesiredHolder
  let run = 0
  let stateDir: string

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'launcho-server-checks-'))
  })
  after(() => rm(dir, {recursive: true, force: true}))

  beforeEach(async () => {
    stateDir = join(dir, `state-${run++}`)
    resources = new ResourceStore(join(stateDir, 'resources'))
    await resources.init()
    holder = new DesiredHolder()
  })

  const upload = async (text: string) => (await resources.put(Readable.from([Buffer.from(text)]), {sha256: sha256(text), name: 'r'})).info.id

  async function service(options: Partial<TargetServiceOptions> = {}): Promise<TargetService> {
    const targets = new TargetService(
      new TargetStore(join(stateDir, 'target.yaml')),
      new SecretStore(join(stateDir, 'secrets.json')),
      new GenerationStore(join(stateDir, 'restarts.json')),
      holder as unknown as Reconciler,
      new EventLog(),
      pino({level: 'silent'}),
      Buffer.alloc(32, 7),
      {resources, pins: new ResourcePins(join(stateDir, 'resource-pins.json')), api: () => ({host: '0.0.0.0', port: 12888}), portRange: {first: 20000, last: 29999}, ...options},
    )
    await targets.load()
    return targets
  }

  /** The lines `t set target.yaml` prints for a refused target, and the error as JSON. */
  async function refusal(change: Promise<unknown>): Promise<{lines: string[]; json: string}> {
    const error = await change.then(() => assert.fail('accepted'), (e: unknown) => e)
    assert.ok(error instanceof LaunchoError, String(error))
    return {lines: error.problems.map((p) => formatProblem(p, 'target.yaml')), json: JSON.stringify(error.toJSON())}
  }

  const one = (lines: string) => `processes:\n  - name: web\n    command: ["sleep", "600"]\n${lines.replace(/^/gm, '    ')}\n`

  it('an unknown user, with the line', async () => {
    const {lines} = await refusal((await service()).setTarget(one('uid: launcho-no-such-user')))
    assert.deepEqual(lines, ['target.yaml:4:10: processes[0].uid: no user "launcho-no-such-user" on this server'])
  })

  it('an unknown group, with the line', async () => {
    const {lines} = await refusal((await service()).setTarget(one('uid: nobody\ngid: launcho-no-such-group')))
    assert.deepEqual(lines, ['target.yaml:5:10: processes[0].gid: no group "launcho-no-such-group" on this server'])
  })

  it('a numeric uid without a passwd entry, which systemd 252 refuses to start (217/USER)', async () => {
    assert.deepEqual(await knownInNss('passwd', ['3999999999']), new Set(), 'precondition: no such uid here')
    const {lines} = await refusal((await service()).setTarget(one('uid: 3999999999')))
    assert.deepEqual(lines, ['target.yaml:4:10: processes[0].uid: no user "3999999999" on this server (systemd needs a passwd entry for a number too)'])
  })

  it('keeps users and groups NSS knows, by name or number', async () => {
    const targets = await service()
    await targets.setTarget(one('uid: nobody\ngid: "0"'))
    assert.equal(holder.getDesired().get('web')!.spec.uid, 'nobody')
  })

  it('an unknown user from a secret, naming the secret and not the value', async () => {
    const targets = await service()
    await targets.changeSecrets({RUN_AS: 'launcho-secret-user'})
    const {lines, json} = await refusal(targets.setTarget(one('uid: "${RUN_AS}"')))
    assert.deepEqual(lines, ['target.yaml:4:10: processes[0].uid (from secret RUN_AS): no such user on this server'])
    assert.doesNotMatch(json, /launcho-secret-user/)
  })

  it('a resource id that is not stored', async () => {
    const {lines} = await refusal((await service()).setTarget(one(`resources: [{id: ${'ab'.repeat(32)}, file: app.tar}]`)))
    assert.deepEqual(lines, [`target.yaml:4:22: processes[0].resources[0].id: no resource with the id ${'ab'.repeat(32)} is stored; upload it with "launcho resource up FILE" ("launcho resource ls" lists the stored ones)`])
  })

  it('a resource id from a secret that is not stored, naming the secret and never the value', async () => {
    const targets = await service()
    const value = 'deadbeef'.repeat(8)
    await targets.changeSecrets({BUNDLE_RESOURCE_ID: value})
    const {lines, json} = await refusal(targets.setTarget(one('resources: [{id: "${BUNDLE_RESOURCE_ID}", file: app.tar}]')))
    assert.deepEqual(lines, ['target.yaml:4:22: processes[0].resources[0].id (from secret BUNDLE_RESOURCE_ID): no such resource is stored; upload it with "launcho resource up FILE" and set the secret to the id it prints'])
    assert.ok(!json.includes(value), json)
  })

  it('an ambiguous prefix, listing what it matches (and from a secret, not listing them)', async () => {
    const ids = await Promise.all(collidingContents().map(upload))
    const prefix = ids[0]!.slice(0, 8)
    const targets = await service()
    const literal = await refusal(targets.setTarget(one(`resources: [{id: "${prefix}", file: app.tar}]`)))
    assert.deepEqual(literal.lines, [`target.yaml:4:22: processes[0].resources[0].id: the id prefix ${prefix} is ambiguous: it matches 2 stored resources (${ids.sort().join(', ')}); write more of its digits`])
    await targets.changeSecrets({BUNDLE: prefix})
    const secret = await refusal(targets.setTarget(one('resources: [{id: "${BUNDLE}", file: app.tar}]')))
    assert.deepEqual(secret.lines, ['target.yaml:4:22: processes[0].resources[0].id (from secret BUNDLE): the id prefix is ambiguous: it matches 2 stored resources; put more of its digits in the secret'])
    assert.ok(!secret.json.includes(prefix))
  })

  it('a secret change that would make the target name an unstored resource is refused, and nothing is written', async () => {
    const id = await upload('bundle v1')
    const targets = await service()
    await targets.changeSecrets({BUNDLE_RESOURCE_ID: id})
    await targets.setTarget(one('resources: [{id: "${BUNDLE_RESOURCE_ID}", file: app.tar}]'))
    const error = await targets.changeSecrets({BUNDLE_RESOURCE_ID: sha256('never uploaded')}).then(() => assert.fail('accepted'), (e: LaunchoError) => e)
    assert.equal(error.code, 'conflict')
    assert.deepEqual(error.problems.map((p) => formatProblem(p)), ['4:22: processes[0].resources[0].id (from secret BUNDLE_RESOURCE_ID): no such resource is stored; upload it with "launcho resource up FILE" and set the secret to the id it prints'])
    assert.equal(targets.secretValue('BUNDLE_RESOURCE_ID'), id)
    assert.equal(holder.getDesired().get('web')!.spec.resources[0]!.id, id)
  })

  it('a service on the API\'s own address, wildcards included', async () => {
    const targets = await service()
    const services = (on: string) => `services:\n  - {name: web, on: "${on}"}\n`
    const {lines} = await refusal(targets.setTarget(services('127.0.0.1:12888')))
    assert.deepEqual(lines, ['target.yaml:2:21: services[0].on: 127.0.0.1:12888 is the launcho API\'s own address (the server listens on 0.0.0.0:12888); pick another port'])
    await targets.setTarget(services('[::1]:12888'), {allowEmpty: true})
    const v6 = await service({api: () => ({host: '::', port: 12888})})
    assert.match((await refusal(v6.setTarget(services('10.1.2.3:12888')))).lines[0]!, /services\[0\]\.on: 10\.1\.2\.3:12888 is the launcho API's own address \(the server listens on \[::\]:12888\)/)
  })

  it('a service port inside the portRange', async () => {
    const {lines} = await refusal((await service()).setTarget('services:\n  - name: web\n    on: "127.0.0.1:20000"\n'))
    assert.deepEqual(lines, ['target.yaml:3:9: services[0].on: port 20000 is inside the server\'s portRange 20000-29999, from which instances get their SERVICE_PORT_* ports; pick a port outside it'])
  })

  it('resolves a prefix to its full id when set, so a later upload with the same prefix changes nothing, across restarts', async () => {
    const [first, second] = collidingContents()
    const id = await upload(first)
    const target = one(`resources: [{id: "${id.slice(0, 8)}", file: app.tar}]`)
    const targets = await service()
    await targets.setTarget(target)
    const running = holder.getDesired().get('web')!
    assert.equal(running.spec.resources[0]!.id, id, 'the desired state keeps the full id')
    assert.deepEqual(targets.resourceUsers(), new Map([[id, ['web']]]))

    const other = await upload(second)
    assert.equal(other.slice(0, 8), id.slice(0, 8))
    assert.deepEqual((await targets.setTarget(target)).changes.map((c) => c.change), ['unchanged'], 'setting it again keeps the pinned id')
    assert.deepEqual(targets.resourceUsers(), new Map([[id, ['web']]]), 'the new upload is not in use, so it can be removed')

    holder = new DesiredHolder()
    await service()
    assert.equal(holder.getDesired().get('web')?.version, running.version, 'a restarted server keeps the version')
    assert.equal(holder.getDesired().get('web')!.spec.resources[0]!.id, id)
    assert.equal(((await stat(join(stateDir, 'resource-pins.json'))).mode & 0o777).toString(8), '600')
  })

  it('pins the prefixes of a target stored before pins existed at the first start, before an upload can share them', async () => {
    const [first, second] = collidingContents()
    const id = await upload(first)
    await new TargetStore(join(stateDir, 'target.yaml')).save(one(`resources: [{id: "${id.slice(0, 8)}", file: app.tar}]`))
    await service()
    await upload(second)
    holder = new DesiredHolder()
    const restarted = await service()
    assert.equal(restarted.problem(), undefined)
    assert.equal(holder.getDesired().get('web')!.spec.resources[0]!.id, id)
  })
})

describe('socketsOverlap', () => {
  const overlap = (a: string, b: string) => socketsOverlap(splitHostPort(a), splitHostPort(b))
  it('takes 0.0.0.0 for every IPv4 address, [::] for every address, localhost for 127.0.0.1 and ::1', () => {
    assert.deepEqual(
      [
        overlap('127.0.0.1:80', '0.0.0.0:80'),
        overlap('[::1]:80', '0.0.0.0:80'),
        overlap('[::1]:80', '[::]:80'),
        overlap('10.0.0.1:80', '[::]:80'),
        overlap('localhost:80', '127.0.0.1:80'),
        overlap('[::ffff:127.0.0.1]:80', '127.0.0.1:80'),
        overlap('[0:0:0:0:0:0:0:1]:80', '[::1]:80'),
        overlap('127.0.0.2:80', '127.0.0.1:80'),
        overlap('127.0.0.1:81', '127.0.0.1:80'),
        overlap('db.internal:80', '127.0.0.1:80'),
      ],
      [true, false, true, true, true, true, true, false, false, true],
    )
  })
})
