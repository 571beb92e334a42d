/**
 * The nftables balancer: one table, `ip launcho`, owned entirely by launcho, whose rules are
 * replaced in one atomic `nft -f -` transaction whenever the wanted ruleset changes, keeping its
 * base chains hooked (see nft-render.ts for why).
 * Other tables are never read or written.
 *
 * Idempotence: after each transaction we keep both the text we applied and the kernel's own listing
 * of the table. A sync whose rendered text is unchanged only lists the table again; if the listing
 * still matches, nothing is written. A table edited or flushed by hand no longer matches and is
 * rewritten, so the loop heals drift.
 */
import type {Balancer, Endpoint, ForgetOutcome, ServiceTable} from './balancer.js'
import {inNetns, runChecked, spawnRunner, type CommandRunner} from './command-runner.js'
import {ResetConnectionForgetter} from './conntrack.js'
import {LocalVips} from './local-vips.js'
import {establishedTo} from './nft-connections.js'
import {leftoversIn} from './nft-listing.js'
import {NFT_TABLE, renderReplacement, renderSetRemoval, renderTable, renderTransaction} from './nft-render.js'
import {checkTables} from './table-check.js'

export interface NftablesOptions {
  /** Defaults to running the real programs. */
  runner?: CommandRunner
  /** Program this network namespace (e.g. `/proc/<pid>/ns/net`) instead of our own. */
  netns?: string
  /**
   * Set `net.ipv4.conf.all.route_localnet=1` in the programmed namespace, which DNAT from another
   * namespace to 127.0.0.1 backends needs. Defaults to true only when `netns` is given: in a
   * namespace of launcho's own it is harmless; on a host's main namespace it lets packets from the
   * network reach 127/8, so that is the operator's choice.
   */
  routeLocalnet?: boolean
}

export class NftablesBalancer implements Balancer {
  readonly kind = 'nftables' as const
  private readonly run: CommandRunner
  private readonly vips: LocalVips
  private readonly routeLocalnet: boolean
  private localnetDone = false
  private applied?: {text: string; listing: string}
  private prunedFor?: string
  private queue: Promise<unknown> = Promise.resolve()
  private readonly forgetter: ResetConnectionForgetter

  constructor(options: NftablesOptions = {}) {
    this.run = inNetns(options.runner ?? spawnRunner(), options.netns)
    this.forgetter = new ResetConnectionForgetter(this.run)
    this.vips = new LocalVips(this.run)
    this.routeLocalnet = options.routeLocalnet ?? options.netns !== undefined
  }

  sync(tables: ServiceTable[]): Promise<void> {
    // One sync at a time: two interleaved read-compare-write rounds could apply a stale table last.
    const next = this.queue.then(() => this.syncNow(checkTables(tables)))
    this.queue = next.catch(() => {})
    return next
  }

  async activeConnections(_service: string, backend: Endpoint): Promise<number | undefined> {
    return establishedTo(this.run, backend)
  }

  backendStopped(backend: Endpoint): Promise<ForgetOutcome> {
    return this.forgetter.forget(backend)
  }

  async close(): Promise<void> {
    await this.queue
  }

  private async syncNow(tables: ServiceTable[]): Promise<void> {
    const hosts = tables.map((table) => table.on.host)
    // Addresses first, so the first connection to a new VIP is already local when the rule lands.
    await this.vips.ensure(hosts)
    if (this.routeLocalnet && !this.localnetDone) {
      await runChecked(this.run, ['sysctl', '-q', '-w', 'net.ipv4.conf.all.route_localnet=1'], undefined, 'launcho needs CAP_NET_ADMIN in the namespace it programs')
      this.localnetDone = true
    }
    const text = renderTable(tables)
    // A change after one of our own writes needs no look first: the in-place transaction puts our
    // chains right whatever they hold, and anything else is healed by the next unchanged sync.
    const applied = this.applied
    const listing = applied && applied.text !== text ? applied.listing : await this.list()
    const wrote = applied?.text !== text || listing !== applied.listing
    if (wrote) {
      await this.write(tables, listing)
      let after = await this.list()
      const unused = leftoversIn(after)?.sets ?? []
      if (unused.length > 0) {
        await runChecked(this.run, ['nft', '-f', '-'], renderSetRemoval(unused), 'launcho needs CAP_NET_ADMIN to change its nftables table')
        after = await this.list()
      }
      this.applied = {text, listing: after}
    }
    // Addresses are only left over when the set of hosts shrank, or by an earlier server (first
    // sync); unchanged syncs (the periodic resync) look anyway, to heal drift.
    const hostsKey = [...new Set(hosts)].sort().join(' ')
    if (!wrote || this.prunedFor !== hostsKey) {
      await this.vips.prune(hosts)
      this.prunedFor = hostsKey
    }
  }

  private async write(tables: ServiceTable[], listing: string): Promise<void> {
    const hint = 'launcho needs CAP_NET_ADMIN and the nf_tables kernel module; run `nft list tables` to check'
    const leftovers = leftoversIn(listing)
    if (leftovers !== undefined) {
      const inPlace = await this.run(['nft', '-f', '-'], renderTransaction(tables, leftovers))
      if (inPlace.code === 0) return
    }
    // A table changed by hand beyond what the in-place transaction repairs (a chain re-hooked, a
    // dormant flag): replace it whole, accepting the brief re-hook of its chains.
    await runChecked(this.run, ['nft', '-f', '-'], renderReplacement(tables), hint)
  }

  private async list(): Promise<string> {
    const result = await this.run(['nft', 'list', 'table', 'ip', NFT_TABLE])
    return result.code === 0 ? result.stdout : ''
  }
}

export interface Detection {
  available: boolean
  /** Why not, when not available. */
  reason?: string
  hint?: string
}

/** Is `nft` usable here (installed, and allowed to read the ruleset)? */
export async function detectNftables(options: {runner?: CommandRunner; netns?: string} = {}): Promise<Detection> {
  const run = inNetns(options.runner ?? spawnRunner(5_000), options.netns)
  const result = await run(['nft', 'list', 'tables'])
  if (result.code === 0) return {available: true}
  const reason = result.stderr.trim() || `nft exited with ${result.code}`
  if (result.code === 127) return {available: false, reason, hint: 'install nftables (Debian package nftables)'}
  if (/not permitted|permission/i.test(reason)) return {available: false, reason, hint: 'run the server as root (it needs CAP_NET_ADMIN)'}
  return {available: false, reason, hint: 'the kernel may lack nf_tables; use the userspace balancer'}
}
