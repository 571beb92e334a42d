import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {after, before, describe, it} from 'node:test'
import {pino} from 'pino'
import {TargetService} from '../../src/daemon/target-service.js'
import {EventLog} from '../../src/events.js'
import type {Reconciler} from '../../src/reconcile/reconciler.js'
import {MIN_REDACTED_LENGTH, SecretRedactor} from '../../src/secrets/redact.js'
import {GenerationStore} from '../../src/store/generation-store.js'
import {SecretStore} from '../../src/store/secret-store.js'
import {TargetStore} from '../../src/store/target-store.js'

const redactorWith = (secrets: Record<string, string>) => {
  const redactor = new SecretRedactor()
  redactor.update(new Map(Object.entries(secrets)))
  return redactor
}

describe('SecretRedactor', () => {
  it(`replaces each secret value of ${MIN_REDACTED_LENGTH} or more characters by \${NAME}, the longest first`, () => {
    const redactor = redactorWith({DB_PASS: 'hunter2!', DB_URL: 'postgres://u:hunter2!@db', PORT: '80', WORD: 'short'})
    assert.equal(
      redactor.redact('connect postgres://u:hunter2!@db failed; password hunter2! on port 80 is short'),
      'connect ${DB_URL} failed; password ${DB_PASS} on port 80 is short',
    )
  })

  it('redacts inside the strings of a JSON log line only, escaped values included, so the line stays JSON', () => {
    const redactor = redactorWith({NUMBER: '12345678', QUOTED: 'say "hi"\nnow'})
    const line = `${JSON.stringify({size: 12345678, msg: 'id 12345678', err: 'said say "hi"\nnow'})}\n`
    const redacted = redactor.redactJson(line)
    assert.deepEqual(JSON.parse(redacted), {size: 12345678, msg: 'id ${NUMBER}', err: 'said ${QUOTED}'})
  })

  it('keeps a replaced or removed value redacted: old instances may still report it', () => {
    const redactor = redactorWith({TOKEN: 'first-token-value'})
    redactor.update(new Map([['TOKEN', 'second-token-value']]))
    redactor.update(new Map())
    assert.equal(redactor.redact('first-token-value second-token-value'), '${TOKEN} ${TOKEN}')
  })

  it('redacts every string of a status report', () => {
    const redactor = redactorWith({BIN: '/opt/secret-bin'})
    const report = {processes: [{name: 'web', restarts: 3, lastFailure: {reason: 'Failed at step EXEC spawning /opt/secret-bin: No such file'}}]}
    assert.deepEqual(redactor.redactDeep(report), {processes: [{name: 'web', restarts: 3, lastFailure: {reason: 'Failed at step EXEC spawning ${BIN}: No such file'}}]})
  })
})

describe('the daemon logger', () => {
  it('writes no secret value: each JSON line passes the redactor', async () => {
    const modules = new URL('../../src/', import.meta.url).href
    const script = `
      const {createLogger} = await import('${modules}daemon/logger.js')
      const {SecretRedactor} = await import('${modules}secrets/redact.js')
      const redactor = new SecretRedactor()
      redactor.update(new Map([['DB_PASS', 'hunter2-secret']]))
      const logger = createLogger('info', (line) => redactor.redactJson(line))
      logger.child({component: 'reconciler'}).warn({reason: 'exit 1: bad password hunter2-secret'}, 'start failed for hunter2-secret')`
    const {stdout} = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script])
    const line = JSON.parse(stdout) as {reason: string; msg: string}
    assert.deepEqual([line.reason, line.msg], ['exit 1: bad password ${DB_PASS}', 'start failed for ${DB_PASS}'])
  })
})

describe('the event log', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'launcho-redact-'))
  })
  after(() => rm(dir, {recursive: true, force: true}))

  it('replaces the current secret values, as TargetService keeps them', async () => {
    const redactor = new SecretRedactor()
    const events = new EventLog(500, (text) => redactor.redact(text))
    const holder = {desired: new Map(), setDesired(d: Map<string, unknown>) {
      this.desired = d
    }, getDesired() {
      return this.desired
    }}
    const targets = new TargetService(
      new TargetStore(join(dir, 'target.yaml')),
      new SecretStore(join(dir, 'secrets.json')),
      new GenerationStore(join(dir, 'restarts.json')),
      holder as unknown as Reconciler,
      events,
      pino({level: 'silent'}),
      Buffer.alloc(32, 3),
      {redactor},
    )
    await targets.load()
    await targets.changeSecrets({BUNDLE_RESOURCE_ID: 'c0ffee00c0ffee00'})
    const event = events.add('start-failed', 'resource c0ffee00c0ffee00 (for app.tar) is not stored on this server', 'web')
    assert.equal(event.message, 'resource ${BUNDLE_RESOURCE_ID} (for app.tar) is not stored on this server')
  })
})
