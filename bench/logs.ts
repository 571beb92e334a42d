/**
 * Benchmark: `launcho logs PROC -n 100000 --all-versions > /dev/null` against the raw
 * `journalctl --root=… -n 100000 -o json LAUNCHO_PROCESS=PROC > /dev/null`, in a private sandbox
 * systemd with its own launcho server. Prints the median wall-clock of each and the ratio.
 *   node dist/bench/logs.js [runs]
 */
import {spawn} from 'node:child_process'
import {closeSync, openSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {Harness, waitFor} from '../test/helpers/harness.js'

const LINES = 100_000
const RUNS = Number(process.argv[2] ?? 5)
const PROCESS = 'bench'

/** Wall-clock seconds of a command with stdout to /dev/null; fails on a non-zero exit. */
async function timed(argv: string[]): Promise<number> {
  const devNull = openSync('/dev/null', 'w')
  const started = process.hrtime.bigint()
  const [code, stderr] = await new Promise<[number | null, string]>((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), {stdio: ['ignore', devNull, 'pipe']})
    let stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('close', (code) => resolve([code, stderr]))
  })
  closeSync(devNull)
  if (code !== 0) throw new Error(`${argv.join(' ')} exited ${code}: ${stderr}`)
  return Number(process.hrtime.bigint() - started) / 1e9
}

/** How many lines a command prints. */
async function countLines(argv: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {stdio: ['ignore', 'pipe', 'inherit']})
    let count = 0
    child.stdout.on('data', (chunk: Buffer) => {
      for (const byte of chunk) if (byte === 0x0a) count++
    })
    child.on('close', (code) => (code === 0 ? resolve(count) : reject(new Error(`${argv.join(' ')} exited ${code}`))))
  })
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

const h = await Harness.start()
try {
  // journald's default rate limit (10,000 lines per 30 s per unit, scaled by free space) would drop
  // most of the lines; lift it inside the sandbox only (its /run is private).
  const confDir = join(h.sandbox.journalRoot, 'run/systemd/journald.conf.d')
  await mkdir(confDir, {recursive: true})
  await writeFile(join(confDir, 'launcho-bench.conf'), '[Journal]\nRateLimitBurst=0\n')
  await h.inside(['systemctl', 'restart', 'systemd-journald'])

  const script = `awk 'BEGIN { for (i = 1; i <= ${LINES}; i++) printf "bench line %d: GET /api/items/%d 200 12ms user-agent=curl/8.0\\n", i, i }'; exec sleep 3600`
  await h.setTarget(`processes:\n  - name: ${PROCESS}\n    command: ["/bin/sh", "-c", ${JSON.stringify(script)}]\n`)
  await waitFor(
    `the ${LINES}th line in the journal`,
    async () => (await h.journal([`LAUNCHO_PROCESS=${PROCESS}`, '-n', '1', '-o', 'cat'])).startsWith(`bench line ${LINES}:`),
    120_000,
    500,
  )

  const launcho = h.cliArgv(['logs', PROCESS, '-n', String(LINES), '--all-versions'])
  const journalctl = ['journalctl', `--root=${h.sandbox.journalRoot}`, '-n', String(LINES), '-o', 'json', `LAUNCHO_PROCESS=${PROCESS}`]
  const startup = h.cliArgv(['logs', PROCESS, '-n', '1'])
  const printed = await countLines(launcho)
  if (printed !== LINES) throw new Error(`launcho logs printed ${printed} lines, expected ${LINES}`)

  const times = {launcho: [] as number[], journalctl: [] as number[], startup: [] as number[]}
  for (let run = 0; run < RUNS; run++) {
    times.journalctl.push(await timed(journalctl))
    times.launcho.push(await timed(launcho))
    times.startup.push(await timed(startup))
  }
  const show = (values: number[]) => `${median(values).toFixed(2)} s  (runs: ${values.map((v) => v.toFixed(2)).join(' ')})`
  console.log(`${LINES} lines of one process in a sandbox journal; launcho printed all ${printed}; median of ${RUNS} runs, stdout to /dev/null`)
  console.log(`journalctl --root=… -n ${LINES} -o json LAUNCHO_PROCESS=${PROCESS}:  ${show(times.journalctl)}`)
  console.log(`launcho logs ${PROCESS} -n ${LINES} --all-versions:                  ${show(times.launcho)}`)
  console.log(`launcho logs ${PROCESS} -n 1 (CLI start-up, TLS, one journalctl):    ${show(times.startup)}`)
  console.log(`ratio launcho / journalctl: ${(median(times.launcho) / median(times.journalctl)).toFixed(2)}`)
} finally {
  await h.close()
}
