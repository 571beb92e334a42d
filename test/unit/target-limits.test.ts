import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {LaunchoError} from '../../src/errors.js'
import {MAX_PROCESSES, loadTargetWithTemplate, validateTarget} from '../../src/target/load.js'
import {IN_THREAD_BYTES, loadTargetOffThread} from '../../src/target/load-off-thread.js'
import {MAX_TARGET_BYTES, MAX_TOKENS} from '../../src/target/yaml-source.js'

const processes = (count: number, name = (i: number) => `p${i}`) =>
  `processes:\n${Array.from({length: count}, (_, i) => `  - name: ${name(i)}\n    command: ["/bin/true"]\n`).join('')}`

async function rejection(promise: Promise<unknown>): Promise<LaunchoError> {
  const error = await promise.then(() => assert.fail('expected a rejection'), (e: unknown) => e)
  assert.ok(error instanceof LaunchoError, String(error))
  return error
}

describe('target size limits', () => {
  it(`accepts ${MAX_PROCESSES} processes and refuses one more, pointing at the first one too many`, () => {
    assert.equal(validateTarget(processes(MAX_PROCESSES)).processes.length, MAX_PROCESSES)
    const error = (() => {
      try {
        validateTarget(processes(MAX_PROCESSES + 1))
      } catch (e) {
        return e as LaunchoError
      }
      assert.fail('accepted')
    })()
    assert.equal(error.code, 'invalid_target')
    assert.deepEqual(error.problems, [
      {line: 2 + 2 * MAX_PROCESSES, column: 5, field: `processes[${MAX_PROCESSES}]`, message: `${MAX_PROCESSES + 1} processes; the limit is ${MAX_PROCESSES} per server`},
    ])
  })

  it('refuses a document of tiny entries by its token count, before building its tree', () => {
    const text = `processes:\n${'  - {name: p, command: [x]}\n'.repeat(37_000)}`
    assert.ok(Buffer.byteLength(text) < MAX_TARGET_BYTES)
    try {
      validateTarget(text)
      assert.fail('accepted')
    } catch (error) {
      assert.ok(error instanceof LaunchoError)
      assert.equal(error.problems.length, 1)
      assert.match(error.problems[0]!.message, new RegExp(`more than ${MAX_TOKENS} YAML tokens`))
      assert.ok(error.problems[0]!.line! > 10_000, `line ${error.problems[0]!.line}`)
    }
  })
})

describe('validation off the event loop', () => {
  it('gives a big target the same result in a worker as in place', async () => {
    const text = processes(900, (i) => `web-server-${i}`)
    assert.ok(Buffer.byteLength(text) > IN_THREAD_BYTES)
    const secrets = new Map([['X', 'y']])
    assert.deepEqual(await loadTargetOffThread(text, secrets), loadTargetWithTemplate(text, secrets))
  })

  it('keeps the problems (line, field, message) of a big invalid target', async () => {
    const text = `${processes(900, (i) => `web-server-${i}`)}  - name: Bad_Name\n    command: ["/bin/true"]\n`
    assert.ok(Buffer.byteLength(text) > IN_THREAD_BYTES)
    const error = await rejection(loadTargetOffThread(text, new Map()))
    assert.equal(error.code, 'invalid_target')
    assert.equal(error.problems[0]!.line, 2 + 2 * 900)
    assert.equal(error.problems[0]!.field, 'processes[900].name')
  })

  it('lets the event loop run while it reads a hostile 1 MiB target, and refuses it', async () => {
    const text = `processes:\n${'  - {name: p, command: [x]}\n'.repeat(37_000)}`
    let ticks = 0
    const ticker = setInterval(() => ticks++, 5)
    const error = await rejection(loadTargetOffThread(text, new Map())).finally(() => clearInterval(ticker))
    assert.equal(error.code, 'invalid_target')
    assert.ok(ticks >= 5, `the event loop ran ${ticks} times meanwhile`)
  })
})
