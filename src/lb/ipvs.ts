/**
 * The IPVS balancer, as the design's "ipvsadm sync loop": read the kernel table, diff it against
 * the wanted one (ipvs-plan.ts), apply only the difference in one `ipvsadm -R` batch. Reading the
 * kernel every time makes it idempotent and lets it heal hand edits; it touches only services it
 * is given or that it created before (kept in `ownedFile` so a restarted server still knows).
 *
 * `ipvsadm -R` is not a transaction: if a line fails, the lines after it are not applied; the next
 * sync reads the kernel again and finishes the job.
 */
import type {Balancer, Endpoint, ServiceTable} from './balancer.js'
import {inNetns, runChecked, spawnRunner, type CommandRunner} from './command-runner.js'
import {desiredIpvs, leavingReals, planIpvs, renderRestore, type IpvsOperation} from './ipvs-plan.js'
import {loadOwned, saveOwned} from './ipvs-owned.js'
import {parseIpvsList, parseIpvsSave, withConnections} from './ipvs-table.js'
import {LocalVips} from './local-vips.js'
import type {Detection} from './nftables.js'
import {checkTables, endpointKey} from './table-check.js'

export {planIpvs, renderIpvsadm, renderRestore, desiredIpvs, type IpvsOperation} from './ipvs-plan.js'
export {parseIpvsSave, parseIpvsList, type IpvsService, type IpvsReal} from './ipvs-table.js'

export interface IpvsOptions {
  runner?: CommandRunner
  /** Program this network namespace instead of our own. */
  netns?: string
  /** Where to remember the VIPs launcho created (JSON); in memory only when absent. */
  ownedFile?: string
  /** Called with the operations of each sync that changed something (for logs). */
  onApply?: (operations: IpvsOperation[]) => void
  /** First delay of the follow-up sync while a real that left the table still has connections (doubles up to 10 s). */
  followUpMs?: number
}

const FOLLOW_UP_MAX_MS = 10_000

const hint = 'launcho needs CAP_NET_ADMIN and a kernel with IPVS (modprobe ip_vs ip_vs_wrr); `ipvsadm -Ln` shows whether it works'

export class IpvsBalancer implements Balancer {
  readonly kind = 'ipvs' as const
  private readonly run: CommandRunner
  private readonly vips: LocalVips
  private owned?: Set<string>
  private addresses = new Map<string, string>()
  private queue: Promise<unknown> = Promise.resolve()
  /** The newest tables given, for the follow-up that finishes a removed real's drain. */
  private tables: ServiceTable[] = []
  private followUp?: NodeJS.Timeout
  private followUpMs: number
  private closed = false

  constructor(private readonly options: IpvsOptions = {}) {
    this.run = inNetns(options.runner ?? spawnRunner(), options.netns)
    this.vips = new LocalVips(this.run)
    this.followUpMs = options.followUpMs ?? 500
  }

  sync(tables: ServiceTable[]): Promise<void> {
    this.tables = tables
    clearTimeout(this.followUp)
    const next = this.queue.then(() => this.syncNow(checkTables(tables)))
    this.queue = next.catch(() => {})
    return next
  }

  /**
   * A real that left the table waits at weight 0 for its connections to end (ipvs-plan.ts), and
   * nothing else may change the table for a long time after: so the balancer looks again by
   * itself, sooner at first, until every such real is gone.
   */
  private scheduleFollowUp(leaving: boolean): void {
    if (!leaving || this.closed) {
      this.followUpMs = this.options.followUpMs ?? 500
      return
    }
    const delay = this.followUpMs
    this.followUpMs = Math.min(delay * 2, FOLLOW_UP_MAX_MS)
    // A follow-up that fails (ipvsadm refused) tries again later, backing off like the others.
    this.followUp = setTimeout(() => void this.sync(this.tables).catch(() => this.scheduleFollowUp(true)), delay).unref()
  }

  /** ActiveConn of the backend under the service's virtual address, from `ipvsadm -L -n`. */
  async activeConnections(service: string, backend: Endpoint): Promise<number | undefined> {
    const address = this.addresses.get(service)
    if (!address) return undefined
    const result = await this.run(['ipvsadm', '-L', '-n', '-t', address])
    if (result.code !== 0) return undefined
    return parseIpvsList(result.stdout).get(`tcp:${address}`)?.get(endpointKey(backend))?.active ?? 0
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.followUp)
    await this.queue
  }

  private async syncNow(tables: ServiceTable[]): Promise<void> {
    const desired = desiredIpvs(tables)
    const wanted = desired.map((service) => service.address)
    this.owned ??= await loadOwned(this.options.ownedFile)
    // Record the new VIPs before creating them, so a crash in between cannot orphan one.
    const before = new Set([...this.owned, ...wanted])
    if (before.size !== this.owned.size) await saveOwned(this.options.ownedFile, before)
    this.owned = before
    this.addresses = new Map(tables.map((table) => [table.name, endpointKey(table.on)]))

    const hosts = tables.map((table) => table.on.host)
    await this.vips.ensure(hosts)
    let current = parseIpvsSave(await runChecked(this.run, ['ipvsadm', '-S', '-n'], undefined, hint))
    if (this.mayFinishDraining(current, tables)) {
      current = withConnections(current, await runChecked(this.run, ['ipvsadm', '-L', '-n'], undefined, hint))
    }
    const operations = planIpvs(current, desired, this.owned)
    if (operations.length > 0) {
      await runChecked(this.run, ['ipvsadm', '-R'], renderRestore(operations), hint)
      this.options.onApply?.(operations)
    }
    this.scheduleFollowUp(leavingReals(current, desired, operations) > 0)
    const after = new Set(wanted)
    if (after.size !== this.owned.size) await saveOwned(this.options.ownedFile, after)
    this.owned = after
    await this.vips.prune(hosts)
  }

  /**
   * Connection counts cost a second read; only needed when a real that is draining (at weight 0 in
   * the table, or no longer in it) is already at weight 0 in the kernel.
   */
  private mayFinishDraining(current: ReturnType<typeof parseIpvsSave>, tables: ServiceTable[]): boolean {
    return tables.some((table) => {
      const service = current.find((s) => s.protocol === 'tcp' && s.address === endpointKey(table.on))
      const weights = new Map(table.backends.map((b) => [endpointKey(b), b.weight]))
      return service?.reals.some((r) => r.weight === 0 && (weights.get(r.address) ?? 0) === 0) ?? false
    })
  }
}

/** Does IPVS work here (`ipvsadm -Ln`)? Kernels without IP_VS answer "Protocol not available". */
export async function detectIpvs(options: {runner?: CommandRunner; netns?: string} = {}): Promise<Detection> {
  const run = inNetns(options.runner ?? spawnRunner(5_000), options.netns)
  const result = await run(['ipvsadm', '-Ln'])
  if (result.code === 0) return {available: true}
  const reason = result.stderr.trim().split('\n')[0] || `ipvsadm exited with ${result.code}`
  if (result.code === 127) return {available: false, reason, hint: 'install ipvsadm (Debian package ipvsadm)'}
  if (/protocol not available/i.test(reason)) return {available: false, reason, hint: 'this kernel has no IPVS (CONFIG_IP_VS); use the nftables balancer'}
  if (/not permitted|permission/i.test(reason)) return {available: false, reason, hint: 'run the server as root (it needs CAP_NET_ADMIN)'}
  return {available: false, reason, hint}
}
