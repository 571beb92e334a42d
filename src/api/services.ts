/**
 * What the routes need from the server behind them, as interfaces: the daemon passes its services
 * (src/daemon/*), tests may pass their own. Types are the protocol's.
 */
import type {ProcessChange} from '../protocol/changes.js'
import type {LaunchoEvent} from '../protocol/events.js'
import type {StatusReport} from '../protocol/status.js'
import type {ExportBody, ExportResponse, RenderBody, RenderResponse} from '../protocol/units.js'

export interface TargetApi {
  currentText(): {text: string; isDefault: boolean}
  setTarget(text: string, options?: {allowEmpty?: boolean}): Promise<ProcessChange[]>
  preview(text: string): Promise<ProcessChange[]>
}

export interface UnitApi {
  render(body: RenderBody): Promise<RenderResponse>
  export(body: ExportBody): Promise<ExportResponse>
}

export interface SecretApi {
  secretNames(): string[]
  secretValue(name: string): string
  /** Sets (string) or removes (undefined) secrets. */
  changeSecrets(changes: Record<string, string | undefined>): Promise<ProcessChange[]>
}

export interface ProcessApi {
  restart(process: string): Promise<ProcessChange[]>
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
