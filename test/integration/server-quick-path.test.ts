/**
 * `launcho server` runs without loading oclif (src/cli/quick-server.ts): whatever the server loads
 * stays in its memory for as long as it runs. The real server, against the sandbox systemd, with a
 * hook (test/helpers/oclif-mark.ts) that records any resolution of @oclif/core.
 */
import assert from 'node:assert/strict'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor} from '../helpers/harness.js'

const oclifMark = fileURLToPath(new URL('../helpers/oclif-mark.js', import.meta.url))

describe('the server without oclif', () => {
  let h: Harness
  let mark: string

  before(async () => {
    h = await Harness.start({server: false})
    mark = join(h.dir, 'server-oclif-mark')
    // Only the server is started with the hook (and the harness's print-auth, which it runs on the way).
    const saved = {options: process.env.NODE_OPTIONS, mark: process.env.LAUNCHO_TEST_OCLIF_MARK}
    process.env.NODE_OPTIONS = `${saved.options ?? ''} --import ${oclifMark}`.trim()
    process.env.LAUNCHO_TEST_OCLIF_MARK = mark
    try {
      await h.startServer()
    } finally {
      for (const [name, value] of [['NODE_OPTIONS', saved.options], ['LAUNCHO_TEST_OCLIF_MARK', saved.mark]] as const) {
        if (value === undefined) delete process.env[name]
        else process.env[name] = value
      }
    }
  })
  after(async () => h?.close())

  it('serves a target and its status without ever loading @oclif/core', async () => {
    await h.setTarget('processes:\n  - name: sleeper\n    command: ["sleep", "100000"]\n')
    await waitFor('sleeper running', async () => (await h.status()).processes.find((p) => p.name === 'sleeper')?.state === 'running' || undefined, 15_000, 100)
    // The harness runs `launcho print-auth` with the same environment; its loads are its own.
    const loads = (await readFile(mark, 'utf8').catch(() => '')).split('\n').filter((line) => line.endsWith(' server'))
    assert.deepEqual(loads, [], 'the server loaded oclif')
  })
})
