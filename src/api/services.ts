/**
 * What the routes need from the server behind them, as interfaces: the daemon passes its services
 * (src/daemon/*), tests may pass their own. Types are the protocol's.
 */
import type {Applied, ProcessChange} from '../protocol/changes.js'
import type {LaunchoEvent} from '../protocol/events.js'
import type {HistoryResponse, ReleaseDetail} from '../protocol/releases.js'
import type {StatusReport} from '../protocol/status.js'
import type {CommandsResponse, RunBody, RunExit} from '../protocol/run.js'
import type {Socket} from 'node:net'
import type {ExportBody, ExportResponse, RenderBody, RenderResponse} from '../protocol/units.js'

export interface TargetApi {
  currentText(): {text: string; isDefault: boolean}
  setTarget(text: string, options?: {allowEmpty?: boolean}): Promise<Applied>
  preview(text: string): Promise<ProcessChange[]>
}

export interface ReleaseApi {
  history(): HistoryResponse
  release(number: number): ReleaseDetail
  rollback(number?: number): Promise<Applied>
  previewRelease(number: number): Promise<ProcessChange[]>
}

export interface UnitApi {
  render(body: RenderBody): Promise<RenderResponse>
  export(body: ExportBody): Promise<ExportResponse>
}

export interface SecretApi {
  secretNames(): string[]
  secretValue(name: string): string
  /** Sets (string) or removes (undefined) secrets. */
  changeSecrets(changes: Record<string, string | undefined>): Promise<Applied>
}

export interface ProcessApi {
  restart(process: string): Promise<Applied>
  /** Stops it and keeps it stopped until `start`. */
  stop(process: string): Promise<Applied>
  start(process: string): Promise<Applied>
}

export interface RunApi {
  commands(): CommandsResponse
  /** Starts the run (its files made, its unit started); `output` for an attached one. */
  start(body: RunBody): Promise<{unit: string; process: string; output?: {stdout: Socket; stderr: Socket; ended(): Promise<void>; close(): void}; ended: Promise<{exit: RunExit} | {lost: string}>; stop(): void}>
}

export interface StatusApi {
  status(eventCount: number, options?: {usage?: boolean}): Promise<StatusReport>
}

export interface EventFeed {
  lastSeq(): number
  recent(count: number): LaunchoEvent[]
  after(seq: number): LaunchoEvent[]
  subscribe(listener: (event: LaunchoEvent) => void): () => void
}

export type {CurrentVersion} from '../logs/log-service.js'
