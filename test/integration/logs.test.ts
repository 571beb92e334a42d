import assert from 'node:assert/strict'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {Journal} from '../../src/logs/journal.js'
import {Harness, waitFor} from '../helpers/harness.js'
import {journalFollowers, RunningCli, waitForJournalLine} from '../helpers/logs.js'

/** The target, with `rev` printing `revLine` and `gone` present or not. */
function target(dir: string, options: {revLine: string; withGone: boolean}): string {
  const trigger = join(dir, 'trigger')
  return `
processes:
  - name: counter
    command: ["/bin/sh", "-c", "for i in $(seq 1 50); do echo count-$i; done; printf 'raw \\\\377 bytes\\\\n'; exec sleep 600"]
  - name: ticker
    command: ["/bin/sh", "-c", "echo ticker-ready; while sleep 0.1; do if [ -e ${trigger} ]; then echo \\"marker $(cat ${trigger})\\"; rm -f ${trigger}; fi; done"]
  - name: rev
    command: ["/bin/sh", "-c", "echo ${options.revLine}; exec sleep 600"]
${options.withGone ? `  - name: gone
    command: ["/bin/sh", "-c", "echo gone-says-goodbye; exec sleep 600"]
` : ''}`
}

describe('launcho logs', () => {
  let h: Harness
  const current = async (name: string) => {
    const process = (await h.status()).processes.find((p) => p.name === name)!
    return {version: process.version!, instance: process.instances.find((i) => i.current)!}
  }
  const lines = (out: string) => out.split('\n').filter(Boolean)

  before(async () => {
    h = await Harness.start()
    await h.setTarget(target(h.dir, {revLine: 'rev-first-version', withGone: true}))
    await waitForJournalLine(h, 'counter', /^raw /)
    await waitForJournalLine(h, 'ticker', /^ticker-ready$/)
    await waitForJournalLine(h, 'rev', /^rev-first-version$/)
    await waitForJournalLine(h, 'gone', /^gone-says-goodbye$/)
  })
  after(async () => h?.close())

  it('shows the current version\'s lines oldest first, each with its time, version and PID', async () => {
    const {version, instance} = await current('counter')
    const out = lines(await h.ok(['logs', 'counter']))
    assert.equal(out.length, 51)
    assert.match(out[0]!, new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3} counter@${version}\\[${instance.pid}\\]: count-1$`))
    assert.match(out[49]!, /: count-50$/)
    // A line that is not UTF-8 still shows, its bad bytes replaced.
    assert.match(out[50]!, /: raw \uFFFD bytes$/)
  })

  it('-n shows only the last N lines', async () => {
    const out = lines(await h.ok(['logs', 'counter', '-n', '3']))
    assert.deepEqual(out.map((line) => line.replace(/^.*?: /, '')), ['count-49', 'count-50', 'raw \uFFFD bytes'])
  })

  it('a journal query with a start time and a line count gives the newest lines after that time, oldest first', async () => {
    // failureReason(unit, sinceUs) reads this way: the last 40 lines of a run, not its first 40.
    // Lines written apart, so each has its own timestamp (lines read together share one).
    await h.inside(['systemd-run', '--unit=journal-query-probe', '/bin/sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do echo line-$i; sleep 0.05; done'])
    const journal = new Journal(h.sandbox.journalRoot)
    const matches = ['_SYSTEMD_UNIT=journal-query-probe.service']
    const all = await waitFor('the probe\'s 8 lines in the journal', async () => {
      const entries = await journal.query({matches})
      return entries.length === 8 && entries
    })
    const timeOf = (message: string) => all.find((entry) => entry.message === message)!.timeUs
    const messages = (entries: {message: string}[]) => entries.map((entry) => entry.message)

    assert.deepEqual(messages(await journal.query({matches, sinceUs: timeOf('line-3'), lines: 2})), ['line-7', 'line-8'])
    // Fewer lines after the time than asked for: all of those, none from before it.
    assert.deepEqual(messages(await journal.query({matches, sinceUs: timeOf('line-6'), lines: 10})), ['line-6', 'line-7', 'line-8'])
  })

  it('--json prints one parseable object per line with time, process, version, unit, pid, message, priority', async () => {
    const {version, instance} = await current('counter')
    const out = lines(await h.ok(['logs', 'counter', '-n', '2', '--json']))
    assert.equal(out.length, 2)
    const [first, second] = out.map((line) => JSON.parse(line) as Record<string, unknown>)
    assert.deepEqual(
      {...first, time: undefined},
      {time: undefined, process: 'counter', version, unit: instance.unit, pid: instance.pid, message: 'count-50', priority: 6},
    )
    assert.match(String(first!.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
    assert.ok(Math.abs(Date.parse(String(first!.time)) - Date.now()) < 5 * 60_000)
    assert.equal(second!.message, 'raw \uFFFD bytes')
  })

  it('-f prints lines written after it started, and Ctrl-C ends it with exit 0 and stops its journalctl', async () => {
    assert.deepEqual(await journalFollowers(h.sandbox.journalRoot), [])
    const follow = RunningCli.start(h, ['logs', 'ticker', '-f'])
    await follow.waitForOutput(/ticker-ready/)
    for (const marker of ['first-marker-4f1c', 'second-marker-9b2e']) {
      await writeFile(join(h.dir, 'trigger'), marker)
      await follow.waitForOutput(new RegExp(`ticker@[0-9a-f]{8}\\[\\d+\\]: marker ${marker}`))
    }
    assert.equal((await journalFollowers(h.sandbox.journalRoot)).length, 1)
    const exit = await follow.stop('SIGINT')
    assert.deepEqual(exit, {code: 0, signal: null}, follow.stderr)
    assert.equal(follow.stderr, '')
    await waitFor('the server to end its journalctl --follow', async () => (await journalFollowers(h.sandbox.journalRoot)).length === 0, 5_000)
  })

  it('a follow whose client vanishes (kill -9) has its journalctl ended too', async () => {
    const follow = RunningCli.start(h, ['logs', 'ticker', '-f', '--json'])
    await follow.waitForOutput(/"message":"ticker-ready"/)
    assert.equal((await journalFollowers(h.sandbox.journalRoot)).length, 1)
    await follow.stop('SIGKILL')
    await waitFor('the server to end its journalctl --follow', async () => (await journalFollowers(h.sandbox.journalRoot)).length === 0, 5_000)
  })

  it('a follow whose server is killed (kill -9) has its journalctl ended too', async () => {
    const follow = RunningCli.start(h, ['logs', 'ticker', '-f'])
    await follow.waitForOutput(/ticker-ready/)
    assert.equal((await journalFollowers(h.sandbox.journalRoot)).length, 1)
    await h.stopServer('SIGKILL')
    await waitFor('the kernel to end the dead server\'s journalctl --follow', async () => (await journalFollowers(h.sandbox.journalRoot)).length === 0, 5_000)
    const exit = await follow.stop('SIGINT')
    assert.notDeepEqual(exit, {code: 0, signal: null}, 'the client noticed the server went away')
    await h.startServer()
  })

  it('keeps a replaced version\'s lines, shown with --all-versions only; --since picks lines after a time', async () => {
    const old = await current('rev')
    const between = Date.now() / 1000
    await new Promise((resolve) => setTimeout(resolve, 50))
    await h.setTarget(target(h.dir, {revLine: 'rev-second-version', withGone: true}))
    const replaced = await waitFor('rev replaced by a running new version', async () => {
      const rev = (await h.status()).processes.find((p) => p.name === 'rev')!
      return rev.version !== old.version && rev.state === 'running' && rev.instances.length === 1 && rev
    }, 20_000)
    await waitForJournalLine(h, 'rev', /^rev-second-version$/)

    const currentOnly = await h.ok(['logs', 'rev'])
    assert.match(currentOnly, new RegExp(`rev@${replaced.version}\\[\\d+\\]: rev-second-version`))
    assert.doesNotMatch(currentOnly, /rev-first-version/)

    const all = lines(await h.ok(['logs', 'rev', '--all-versions']))
    assert.equal(all.length, 2)
    assert.match(all[0]!, new RegExp(`rev@${old.version}\\[${old.instance.pid}\\]: rev-first-version$`))
    assert.match(all[1]!, new RegExp(`rev@${replaced.version}\\[\\d+\\]: rev-second-version$`))

    const since = lines(await h.ok(['logs', 'rev', '--all-versions', '--since', `@${between.toFixed(3)}`]))
    assert.deepEqual(since.map((line) => line.replace(/^.*?: /, '')), ['rev-second-version'])
  })

  it('still shows the lines of a process removed from the target, whose unit is gone', async () => {
    await h.setTarget(target(h.dir, {revLine: 'rev-second-version', withGone: false}))
    await waitFor('gone unit stopped and collected', async () => !(await h.units()).some((u) => u.startsWith('launcho-gone-')), 20_000)
    const out = await h.ok(['logs', 'gone'])
    assert.match(out, /gone@[0-9a-f]{8}\[\d+\]: gone-says-goodbye/)
  })

  it('tells when nothing matches, and refuses unknown processes, bad names and bad times with what to do', async () => {
    const future = await h.cli(['logs', 'counter', '--since', '2099-01-01 00:00'])
    assert.equal(future.code, 0)
    assert.equal(future.stdout, '')
    assert.match(future.stderr, /No log lines for counter/)

    const unknown = await h.cli(['logs', 'nosuchprocess'])
    assert.equal(unknown.code, 2, 'an unknown process is a bad request')
    assert.match(unknown.stderr, /no process "nosuchprocess"/)
    assert.match(unknown.stderr, /launcho status/)

    const badName = await h.cli(['logs', 'Web_1'])
    assert.equal(badName.code, 2)
    assert.match(badName.stderr, /not a process name/)

    const badTime = await h.cli(['logs', 'counter', '--since', 'last tuesday-ish'])
    assert.equal(badTime.code, 2)
    assert.match(badTime.stderr, /not a time journalctl understands[\s\S]*10 min ago/)

    const option = await h.cli(['logs', 'counter', '--since=--output=verbose'])
    assert.equal(option.code, 2)
    assert.match(option.stderr, /since/)
  })
})
