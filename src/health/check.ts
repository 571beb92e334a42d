/**
 * Health check definitions and results. A prober runs one check against one instance; the health
 * state machine (thresholds, start-up deadline) decides what the results mean.
 */
import type {SandboxSpec} from '../systemd/sandbox-presets.js'
import type {RawProperty, UnitLimits} from '../systemd/unit-limits.js'

export type HealthCheck =
  | {kind: 'http'; port: number; path: string; timeoutMs: number}
  | {kind: 'tcp'; port: number; timeoutMs: number}
  /** argv run as the process user and group (the runner decides how); exit 0 = healthy. */
  | {
      kind: 'exec'
      command: string[]
      timeoutMs: number
      env?: Record<string, string>
      cwd?: string
      user?: string
      /** The process's `gid`: its check runs with the same group as its unit (systemd's Group=). */
      group?: string
      /** The instance checked, for a runner that runs the check beside it (systemd-exec-runner.ts). */
      instance?: ExecCheckInstance
    }

export interface ExecCheckInstance {
  unit: string
  /** Its private env file (secrets included): the check reads the same one. */
  environmentFile: string
  /** `SERVICE_PORT_<NAME>` → port: its public environment. */
  portEnv: Record<string, string>
  /** Its memory limit, as the target spells it. */
  memoryMax?: string
  /** Its sandbox and credential files (name → root-only file). */
  sandbox?: SandboxSpec
  credentials?: Record<string, string>
  /** Its other limits and `systemd:` properties, as its unit has them. */
  limits?: UnitLimits
  extra?: RawProperty[]
}

export interface CheckResult {
  ok: boolean
  /** e.g. `HTTP 200 in 3 ms`, `connection refused`, `timed out after 1000 ms`, `exit 1: <stderr tail>` */
  detail: string
  /** When the result was known (ms since the epoch): the check's end. */
  at: number
  durationMs: number
}
