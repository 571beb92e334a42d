/**
 * The sandbox systemd's cgroups: each sandbox has its own subtree, and stopping it removes every
 * cgroup its units had. Before, each sandbox left its units' cgroups in the host's hierarchies
 * and they piled up until a new sandbox's systemd took seconds to answer.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {promisify} from 'node:util'
import {describe, it} from 'node:test'
import {startSandbox} from '../../src/sandbox/sandbox.js'

const run = promisify(execFile)

describe('sandbox cgroups', () => {
  it('two sandboxes run units in subtrees of their own, and stopping one removes all of its cgroups', async () => {
    const [a, b] = await Promise.all([startSandbox(), startSandbox()])
    try {
      const rootOf = async (pid: number) => /^\d+:name=systemd:(\/launcho-sandbox-[0-9a-f]+)\/init\.scope$/m.exec(await readFile(`/proc/${pid}/cgroup`, 'utf8'))?.[1]
      const [rootA, rootB] = [await rootOf(a.pid1), await rootOf(b.pid1)]
      assert.ok(rootA && rootB && rootA !== rootB, `${rootA} ${rootB}`)
      const unit = 'launcho-cgtest.service'
      for (const sandbox of [a, b]) {
        const [bin, ...args] = [...sandbox.inside(), 'systemd-run', '--unit', unit, '--slice', 'launcho.slice', '-p', 'MemoryMax=64M', 'sleep', '600']
        await run(bin!, args)
      }
      for (const root of [rootA, rootB]) {
        for (const hierarchy of ['systemd', 'memory']) {
          assert.ok(existsSync(`/sys/fs/cgroup/${hierarchy}${root}/launcho.slice/${unit}`), `${hierarchy}${root}`)
        }
      }
      await a.stop()
      for (const hierarchy of ['systemd', 'memory', 'pids', 'unified']) {
        assert.equal(existsSync(`/sys/fs/cgroup/${hierarchy}${rootA}`), false, `${hierarchy}${rootA} is left`)
        assert.ok(existsSync(`/sys/fs/cgroup/${hierarchy}${rootB}/launcho.slice/${unit}`), `the other sandbox's unit is untouched (${hierarchy})`)
      }
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })
})
