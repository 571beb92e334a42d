/**
 * The IPVS balancer against a real IPVS kernel: Debian's kernel under qemu (TCG, no NIC, so no
 * traffic leaves the VM) boots a busybox initramfs with ipvsadm and this host's node, runs
 * guest.js (the compiled project code) and reports each check on the serial console.
 *
 * Run after a build: `node --test dist/test/ipvs/`. The kernel and base initramfs are cached under
 * /var/tmp/launcho-ipvs-cache (LAUNCHO_IPVS_CACHE); the compiled code is packed fresh each run.
 */
import assert from 'node:assert/strict'
import {execFile, spawn} from 'node:child_process'
import {cp, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'
import {after, before, describe, test} from 'node:test'
import {CHECK_PREFIX, DONE_LINE, checks, type CheckReport} from './checks.js'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('../../../', import.meta.url))
const bootTimeoutMs = 150_000

async function packApp(cache: string): Promise<{dir: string; initrd: string}> {
  const dir = await mkdtemp(join(cache, 'run-'))
  const app = join(dir, 'app')
  await cp(join(repo, 'dist', 'src'), join(app, 'dist', 'src'), {recursive: true})
  await cp(join(repo, 'dist', 'test', 'ipvs'), join(app, 'dist', 'test', 'ipvs'), {recursive: true})
  await writeFile(join(app, 'package.json'), '{"type": "module"}\n')
  await run('sh', ['-c', 'find app | busybox cpio -o -H newc > app.cpio 2>/dev/null'], {cwd: dir})
  // The kernel unpacks concatenated archives in order: the cached base, then the app. An
  // uncompressed archive after a compressed one must start 4-byte aligned; zeros pad the gap.
  const base = await readFile(join(cache, 'base.cpio.gz'))
  const padding = Buffer.alloc((4 - (base.length % 4)) % 4)
  const initrd = join(dir, 'initrd')
  await writeFile(initrd, Buffer.concat([base, padding, await readFile(join(dir, 'app.cpio'))]))
  return {dir, initrd}
}

function boot(kernel: string, initrd: string): Promise<string> {
  const args = ['-accel', 'tcg', '-nodefaults', '-no-user-config', '-m', '1024', '-smp', '2', '-display', 'none', '-no-reboot']
  args.push('-kernel', kernel, '-initrd', initrd, '-append', 'console=ttyS0 quiet panic=-1', '-serial', 'stdio')
  return new Promise((resolve, reject) => {
    const qemu = spawn('qemu-system-x86_64', args, {stdio: ['ignore', 'pipe', 'pipe']})
    let console = ''
    qemu.stdout.setEncoding('utf8').on('data', (chunk: string) => (console += chunk))
    qemu.stderr.setEncoding('utf8').on('data', (chunk: string) => (console += chunk))
    const timer = setTimeout(() => qemu.kill('SIGKILL'), bootTimeoutMs)
    qemu.on('error', reject)
    qemu.on('close', () => {
      clearTimeout(timer)
      resolve(console.replaceAll('\r', ''))
    })
  })
}

describe('IPVS balancer in a real IPVS kernel (qemu)', () => {
  const reports = new Map<string, CheckReport>()
  let console = ''
  let runDir: string | undefined
  let seconds = 0

  before(async () => {
    const built = await run('bash', [join(repo, 'test', 'ipvs', 'build-initramfs.sh')], {maxBuffer: 1 << 20})
    const cache = built.stdout.trim().split('\n').at(-1) ?? ''
    const kernel = join(cache, 'vmlinuz')
    const packed = await packApp(cache)
    runDir = packed.dir
    const started = Date.now()
    console = await boot(kernel, packed.initrd)
    seconds = (Date.now() - started) / 1000
    for (const line of console.split('\n')) {
      if (line.startsWith(CHECK_PREFIX)) {
        const report = JSON.parse(line.slice(CHECK_PREFIX.length)) as CheckReport
        reports.set(report.name, report)
      }
    }
  })

  after(async () => {
    if (runDir) await rm(runDir, {recursive: true, force: true})
  })

  test('the guest booted, loaded IPVS and finished', (t) => {
    t.diagnostic(`qemu ran for ${seconds.toFixed(1)} s`)
    assert.ok(!console.includes('LAUNCHO-IPVS-FAIL'), `guest problems:\n${console}`)
    assert.ok(console.includes(DONE_LINE), `the guest did not finish within ${bootTimeoutMs / 1000} s:\n${console.slice(-4000)}`)
  })

  for (const name of checks) {
    test(name, (t) => {
      const report = reports.get(name)
      assert.ok(report, `not reported by the guest; console tail:\n${console.slice(-2000)}`)
      assert.ok(report.ok, report.detail)
      t.diagnostic(report.detail.split('\n').join(' | '))
    })
  }
})
