/**
 * systemd's own measure of how exposed a service is: `systemd-analyze security --offline=yes` on
 * the unit file launcho would create (0.0 is fully confined, 10.0 fully exposed; systemd names the
 * bands OK, MEDIUM, EXPOSED, UNSAFE). Many units are scored in one run (about 5 ms each), and each
 * result is kept by the unit's exposure key (exposureKey): units that differ only in what systemd's
 * assessment never reads (their commands, environment, paths, limits) score the same, so a target of
 * 1000 processes with one sandbox setting costs one unit's scoring, not 1000.
 *
 * The text output is read, not `--json`: in systemd 252 the JSON lists each setting's exposure but
 * not the overall score, which only the "Overall exposure level" line gives.
 */
import {execFile} from 'node:child_process'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {systemTool} from './system-tool.js'

const run = promisify(execFile)

export interface ExposureCost {
  /** The setting as systemd names it, e.g. `PrivateNetwork=` or `RestrictAddressFamilies=~AF_(INET|INET6)`. */
  setting: string
  description: string
  /** What it adds to the score. */
  exposure: number
}

export interface Exposure {
  /** 0.0 – 10.0 */
  score: number
  /** OK | MEDIUM | EXPOSED | UNSAFE */
  rating: string
  /** The settings that cost most, highest first (at most MAX_COSTS). */
  costs: ExposureCost[]
}

export class ExposureError extends Error {}

const MAX_COSTS = 5
const CACHE_LIMIT = 4096
const TIMEOUT_MS = 60_000

export class ExposureScorer {
  private readonly cache = new Map<string, Exposure>()

  constructor(private readonly program = systemTool('systemd-analyze')) {}

  /** Scores each unit file (name → text); throws ExposureError when systemd-analyze cannot. */
  async score(units: ReadonlyMap<string, string>): Promise<Map<string, Exposure>> {
    const scored = new Map<string, Exposure>()
    /** Exposure key → the names that share it, for keys not scored yet; the first name's text is analyzed. */
    const missing = new Map<string, string[]>()
    for (const [name, text] of units) {
      const key = exposureKey(text)
      const known = this.cache.get(key)
      if (known) scored.set(name, known)
      else if (missing.has(key)) missing.get(key)!.push(name)
      else missing.set(key, [name])
    }
    if (missing.size === 0) return scored
    const representatives = new Map([...missing.values()].map((names) => [names[0]!, units.get(names[0]!)!]))
    const analyzed = await this.analyze(representatives)
    for (const [key, names] of missing) {
      const exposure = analyzed.get(names[0]!)!
      for (const name of names) scored.set(name, exposure)
      this.remember(key, exposure)
    }
    return scored
  }

  private async analyze(units: Map<string, string>): Promise<Map<string, Exposure>> {
    const dir = await mkdtemp(join(tmpdir(), 'launcho-exposure-'))
    try {
      const files = [...units].map(([name, text], i) => ({name, file: join(dir, `launcho-exposure-${i}.service`), text}))
      await Promise.all(files.map(({file, text}) => writeFile(file, text, {mode: 0o600})))
      let stdout: string
      try {
        ;({stdout} = await run(this.program, ['security', '--offline=yes', '--no-pager', ...files.map(({file}) => file)], {
          env: {...process.env, LC_ALL: 'C.UTF-8', SYSTEMD_COLORS: '0'},
          maxBuffer: 64 * 1024 * 1024,
          timeout: TIMEOUT_MS,
        }))
      } catch (error) {
        const failure = error as NodeJS.ErrnoException & {stderr?: string}
        const why = failure.code === 'ENOENT' ? 'systemd-analyze is not installed (apt-get install systemd)' : (failure.stderr?.trim().split('\n').at(-1) ?? failure.message)
        throw new ExposureError(`systemd-analyze security could not score the units: ${why}`)
      }
      const byFile = parseSecurityOutput(stdout)
      const scored = new Map<string, Exposure>()
      for (const {name, file} of files) {
        const exposure = byFile.get(file.slice(dir.length + 1))
        if (!exposure) throw new ExposureError(`systemd-analyze security printed no score for ${name}`)
        scored.set(name, exposure)
      }
      return scored
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  }

  private remember(key: string, exposure: Exposure): void {
    if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!)
    this.cache.set(key, exposure)
  }
}

/**
 * Directives of launcho's units that systemd's assessment does not read (systemd 252,
 * analyze-security.c: get_security_info takes the unit's type, notify access and default
 * dependencies, the exec context's credentials, capability, namespace, protection, filter and umask
 * settings, and the cgroup context's delegation, device and IP address rules) and that imply none
 * of what it reads. Anything not listed stays in the key, so a directive unknown here only costs a
 * cache miss, never a wrong score.
 */
const UNASSESSED = new Set([
  'Description',
  'ExecStart', 'ExecStartPre', 'ExecStartPost', 'ExecStop', 'ExecStopPost', 'ExecReload', 'ExecCondition',
  'Environment', 'EnvironmentFile', 'WorkingDirectory', 'SyslogIdentifier', 'LogExtraFields',
  'LoadCredential', 'BindPaths', 'BindReadOnlyPaths', 'ReadWritePaths', 'ReadOnlyPaths', 'StateDirectory',
  'MemoryMax', 'MemorySwapMax', 'MemoryHigh', 'MemoryLow', 'MemoryMin', 'CPUQuota', 'CPUWeight', 'IOWeight', 'TasksMax', 'Nice', 'LimitNOFILE',
  'TimeoutStartSec', 'TimeoutStopSec', 'RestartSec', 'RuntimeMaxSec',
])
/** The only user names the assessment tells apart; every other name scores as "a non-root user". */
const ASSESSED_USERS = new Set(['', '0', 'root', 'nobody'])

/** What of a unit file decides its exposure: the text without the directives in UNASSESSED, any other user named alike. */
export function exposureKey(text: string): string {
  const kept: string[] = []
  for (const line of text.split('\n')) {
    const equals = line.indexOf('=')
    const directive = equals > 0 && !line.startsWith('#') ? line.slice(0, equals) : undefined
    if (directive !== undefined && UNASSESSED.has(directive)) continue
    if (directive === 'User' && !ASSESSED_USERS.has(line.slice(equals + 1))) kept.push('User=<non-root>')
    else kept.push(line)
  }
  return kept.join('\n')
}

const OVERALL = /Overall exposure level for (\S+): (\d+(?:\.\d+)?) (\w+)/
/** `✗ PrivateNetwork=    Service has access to the host's network    0.5` */
const COST = /^✗ (\S+)\s+(.*?)\s+(\d+\.\d+)\s*$/

/**
 * Each unit's table ends with its overall line, so the rows since the last one are that unit's.
 * What is kept is copied out of `stdout` (interned: a few dozen distinct texts): a regex match is a
 * slice that keeps its whole source alive, and for 1000 units that source is a 23 MB string.
 */
export function parseSecurityOutput(stdout: string): Map<string, Exposure> {
  const found = new Map<string, Exposure>()
  const own = interner()
  let costs: ExposureCost[] = []
  for (const line of stdout.split('\n')) {
    const cost = COST.exec(line)
    if (cost) {
      costs.push({setting: own(cost[1]!), description: own(cost[2]!), exposure: Number(cost[3])})
      continue
    }
    const overall = OVERALL.exec(line)
    if (!overall) continue
    const top = costs.sort((a, b) => b.exposure - a.exposure).slice(0, MAX_COSTS)
    found.set(own(overall[1]!), {score: Number(overall[2]), rating: own(overall[3]!), costs: top})
    costs = []
  }
  return found
}

/** Returns one flat copy per distinct text, sharing no memory with the text it was cut from. */
function interner(): (text: string) => string {
  const seen = new Map<string, string>()
  return (text) => {
    let copy = seen.get(text)
    if (copy === undefined) {
      copy = Buffer.from(text, 'utf8').toString('utf8')
      seen.set(copy, copy)
    }
    return copy
  }
}

/** `9.6 UNSAFE` */
export const describeExposure = (exposure: Pick<Exposure, 'score' | 'rating'>): string => `${exposure.score.toFixed(1)} ${exposure.rating}`
