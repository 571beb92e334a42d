import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {chmod, mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {promisify} from 'node:util'
import {helloServerSource} from '../../src/demo/hello-app.js'
import {Harness, launchoBin, waitFor} from '../helpers/harness.js'
import {get, startLoad} from '../helpers/services.js'

const run = promisify(execFile)

// The original README's target, with the process name spelled the way launcho names processes.
const target = `processes:
  -
    name: "main-server"
    resources:
    -
      id: "\${BUNDLE_RESOURCE_ID}"
      file: "bundle.tar.bz2"
    before: |
      tar -xf bundle.tar.bz2
      mv bundle/* .
    command: ["node", "server.js"]
    receives:
      - "traffic"
    health:
      service: "traffic"
      path: "/health"

services:
  -
    name: "traffic"
    on: "127.0.0.1:5000"
`

describe("the original README's intended workflow", () => {
  let h: Harness
  let work: string
  before(async () => {
    h = await Harness.start()
    work = join(h.dir, 'workflow')
    await mkdir(join(work, 'bundle'), {recursive: true})
    await mkdir(join(work, 'bin'))
    // `launcho` on PATH, as an operator has it.
    await writeFile(join(work, 'bin', 'launcho'), `#!/bin/sh\nexec "${process.execPath}" "${launchoBin}" "$@"\n`)
    await chmod(join(work, 'bin', 'launcho'), 0o755)
  })
  after(async () => h?.close())

  /** Runs a shell line as the README shows it, inside the sandbox network with the client auth. */
  const shell = async (line: string) => {
    const [nsenter, ...prefix] = h.sandbox.inNetwork()
    const {stdout} = await run(nsenter!, [...prefix, '/bin/sh', '-ec', line], {
      cwd: work,
      env: {...process.env, PATH: `${join(work, 'bin')}:${process.env.PATH}`, LAUNCHO_AUTH: h.authFile},
    })
    return stdout
  }

  const deploy = async (greeting: string) => {
    await writeFile(join(work, 'bundle', 'server.js'), helloServerSource.replace("process.env.GREETING || 'Hello, world!'", JSON.stringify(greeting)))
    // Exactly the README's three commands.
    await shell('tar -cvvhjf bundle.tar.bz2 bundle/ >/dev/null')
    const id = await shell('launcho resource up bundle.tar.bz2 | tee NEW_RESOURCE_ID')
    assert.match(id, /^[0-9a-f]{64}\n?$/)
    await shell('launcho secret set BUNDLE_RESOURCE_ID $(cat NEW_RESOURCE_ID)')
    return id.trim()
  }

  it('deploys a bundle, then rolls out a new one with no failed request', async () => {
    await deploy('Hello, world!')
    await shell(`cat > target.yaml <<'EOF'\n${target}EOF\nlauncho target set target.yaml`)
    await waitFor('hello world on port 5000', async () => (await get(h, 'http://127.0.0.1:5000/')) === '200 Hello, world!', 30_000, 200)

    const load = startLoad(h, 'http://127.0.0.1:5000/', 4)
    const secondId = await deploy('Hello, second version!')
    await waitFor('the new version answers', async () => (await get(h, 'http://127.0.0.1:5000/')) === '200 Hello, second version!', 30_000, 200)
    await waitFor('the old version is gone', async () => {
      const process = (await h.status()).processes.find((p) => p.name === 'main-server')!
      return process.instances.length === 1 && process.instances[0]!.current
    }, 30_000, 200)
    const summary = await load.stop()
    assert.equal(summary.failed, 0, `failures: ${JSON.stringify(summary.errors)}`)
    assert.ok((summary.ok) > 0 && Object.keys(summary.bodies).every((word) => word === 'Hello,'), JSON.stringify(summary.bodies))

    const ls = await shell('launcho resource ls')
    assert.match(ls, new RegExp(`${secondId.slice(0, 12)}.*main-server`))
    const status = await shell('launcho status')
    assert.match(status, /main-server .*running/)
    const logs = await shell('launcho logs main-server')
    assert.match(logs, /Server running on port \d+/)
  })
})
