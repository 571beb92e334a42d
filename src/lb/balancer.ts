/**
 * One interface for the three load-balancer backends (ipvs, nftables, userspace). The rollout and
 * health code decide *what* each service's backends are; a Balancer only makes the data path match,
 * idempotently, touching nothing it does not own.
 */

export interface Endpoint {
  /** IPv4 address (or hostname for `on`, resolved by the caller). */
  host: string
  port: number
}

export interface Backend extends Endpoint {
  /**
   * > 0: receives new connections in proportion to its weight.
   * 0: draining — receives no new connections; existing ones are left to finish.
   */
  weight: number
}

export interface ServiceTable {
  /** The service's name from the target, `[a-z0-9-]+`. */
  name: string
  /** The address clients connect to (`on: ADDR:PORT`). */
  on: Endpoint
  backends: Backend[]
}

/** What forgetting a stopped backend's reset connections did; `missing`: the tool is not installed. */
export type ForgetOutcome = {forgotten: number} | {missing: string} | {failed: string}

export type BalancerKind = 'ipvs' | 'nftables' | 'userspace'

export interface Balancer {
  readonly kind: BalancerKind
  /**
   * Makes the data path serve exactly `tables`: services not listed are removed (only launcho's
   * own), backends are added, re-weighted, set draining (weight 0) or removed. Safe to call any
   * number of times with the same input; applies only the difference where the backend can.
   */
  sync(tables: ServiceTable[]): Promise<void>
  /**
   * Established connections currently going to `backend` of `service` through this balancer, when
   * the backend can tell (used to finish draining early); undefined when it cannot.
   */
  activeConnections?(service: string, backend: Endpoint): Promise<number | undefined>
  /**
   * The process behind `backend` has stopped for good: forget what the data path keeps of the
   * connections it reset (see conntrack.ts), so that no new connection is sent after it.
   */
  backendStopped?(backend: Endpoint): Promise<ForgetOutcome>
  /** Releases what the balancer holds in this process. Never tears down the data path itself. */
  close(): Promise<void>
}
