/**
 * One instance (one systemd unit) and everything launcho knows of it beyond systemd's view: its
 * phase, its health (mirrored from the health monitor's changes), its ports, its load-balancer
 * membership, its connection count while draining and its drain deadline. Every change is one of
 * the transition methods below; the rollout (rollout.ts) decides over `facts()`.
 *
 *   starting ─started─▶ checking ─serve─▶ serving ─drain─▶ draining ─stopping─▶ stopping ─gone─▶ gone
 *       │                  ▲   │             │
 *       │                  │   └─health failed (never healthy within its start-up deadline)─▶ failed
 *       │                  └──unserve / mainProcessGone──┘
 *       └─failed(reason): its start did not succeed
 */
import type {Health, InstanceFacts, Membership} from './rollout.js'

export type Phase = 'starting' | 'checking' | 'serving' | 'draining' | 'stopping' | 'gone' | 'failed'

export interface InstanceIdentity {
  unit: string
  process: string
  version: string
  replica: number
}

export class Instance {
  private currentPhase: Phase
  /** The monitor's view while checks watch it; undefined while none do. */
  private checkedHealth?: Health
  private lastOk?: number
  private inBalancer: Membership
  private drainStart?: number
  private deadline?: number
  private connectionCount?: number
  /** Why it failed or last left the balancer, for the log and status. */
  reason?: string

  constructor(
    readonly id: InstanceIdentity,
    readonly ports: Record<string, number>,
    /** When launcho started (or adopted) it. */
    readonly since: number,
    start: 'starting' | 'checking' | 'serving',
  ) {
    this.currentPhase = start
    this.inBalancer = start === 'serving' ? 'in' : 'out'
  }

  get unit(): string {
    return this.id.unit
  }
  get process(): string {
    return this.id.process
  }
  get phase(): Phase {
    return this.currentPhase
  }
  get membership(): Membership {
    return this.inBalancer
  }
  get drainSince(): number | undefined {
    return this.drainStart
  }
  get drainDeadline(): number | undefined {
    return this.deadline
  }
  get activeConnections(): number | undefined {
    return this.connectionCount
  }

  /** Its start job succeeded: systemd runs it, its checks decide when it serves. */
  started(): void {
    if (this.currentPhase === 'starting' || this.currentPhase === 'failed') this.currentPhase = 'checking'
  }

  /** Health checks begin (again): `starting` until they pass. */
  watched(): void {
    this.checkedHealth = 'starting'
    this.lastOk = undefined
    if (this.currentPhase === 'failed') this.currentPhase = 'checking'
  }

  /** No check watches it any more (it is going away, or about to be watched anew). */
  unwatched(): void {
    this.checkedHealth = undefined
  }

  healthChanged(state: Health, lastOkAt?: number): void {
    this.checkedHealth = state
    if (lastOkAt !== undefined) this.lastOk = lastOkAt
    if (state === 'failed' && (this.currentPhase === 'checking' || this.currentPhase === 'starting')) {
      this.currentPhase = 'failed'
      this.reason = 'not healthy within its start-up deadline'
    }
  }

  serve(): void {
    this.inBalancer = 'in'
    this.currentPhase = 'serving'
    this.clearDrain()
  }

  unserve(reason: string): void {
    this.inBalancer = 'out'
    this.reason = reason
    if (this.currentPhase === 'serving') this.currentPhase = 'checking'
    this.clearDrain()
  }

  /** Weight 0 in the balancer: no new connections; stopped once idle or at `now + timeoutMs`. */
  drain(now: number, timeoutMs: number): void {
    this.inBalancer = 'draining'
    this.currentPhase = 'draining'
    this.drainStart = now
    this.deadline = now + timeoutMs
    this.connectionCount = undefined
    this.checkedHealth = undefined
  }

  /** Leaves the balancer without draining (a process that receives no service has nothing to drain). */
  retire(): void {
    this.inBalancer = 'out'
    this.currentPhase = 'draining'
    this.clearDrain()
    this.checkedHealth = undefined
  }

  connections(count: number): void {
    this.connectionCount = count
  }

  stopping(): void {
    this.inBalancer = 'out'
    this.currentPhase = 'stopping'
    this.clearDrain()
    this.checkedHealth = undefined
  }

  gone(): void {
    this.inBalancer = 'out'
    this.currentPhase = 'gone'
    this.clearDrain()
    this.checkedHealth = undefined
  }

  failed(reason: string): void {
    this.inBalancer = 'out'
    this.currentPhase = 'failed'
    this.reason = reason
    this.clearDrain()
  }

  /**
   * systemd says its main process is gone: out of the balancer at once; it serves again once
   * healthy. Returns whether it was serving.
   */
  mainProcessGone(): boolean {
    if (this.inBalancer !== 'in') return false
    this.unserve('its main process is gone')
    return true
  }

  /**
   * What the rollout decides over. `active`: systemd runs it; `expectsCheck`: it is of the desired
   * version and its process has a health check, so until its checks pass it is `starting`.
   */
  facts(active: boolean, expectsCheck: boolean): InstanceFacts {
    const health = this.checkedHealth ?? (expectsCheck ? 'starting' : active ? 'healthy' : 'starting')
    return {
      phase: this.currentPhase,
      health,
      ...(this.checkedHealth !== undefined && this.lastOk !== undefined ? {lastOkAt: this.lastOk} : {}),
      membership: this.inBalancer,
      ...(this.drainStart !== undefined ? {drainSince: this.drainStart} : {}),
      ...(this.deadline !== undefined ? {drainDeadline: this.deadline} : {}),
      ...(this.connectionCount !== undefined ? {activeConnections: this.connectionCount} : {}),
    }
  }

  private clearDrain(): void {
    this.drainStart = undefined
    this.deadline = undefined
    this.connectionCount = undefined
  }
}
