/** What a release keeps of the change that made it, and how the API shows it (secret names, never values). */
import type {HistoryResponse, ReleaseDetail, ReleaseKind, ReleaseSummary} from '../protocol/releases.js'
import type {DesiredState} from '../reconcile/desired.js'
import type {ReleaseDraft, StoredRelease} from '../store/release-store.js'
import type {Pins} from '../store/resource-pins.js'
import {changeLines, type ProcessChange} from './changes.js'
import type {ResourceUses} from './resource-uses.js'

/** What the change was, for the release. */
export interface ReleaseMaking {
  release: ReleaseKind
  /** History's first lines, before the processes' (`secret DB_URL`, `rollback to release 3`). */
  lines?: string[]
  rollbackOf?: number
}

/** A resolved target, as it went to the reconciler. */
export interface ReleaseSource {
  text: string
  secrets: ReadonlyMap<string, string>
  generations: ReadonlyMap<string, number>
  pins: Pins
  uses: ResourceUses
  desired: DesiredState
}

export function releaseDraft(source: ReleaseSource, making: ReleaseMaking, changes: ProcessChange[], stopped: ReadonlySet<string>): ReleaseDraft {
  // Only the values of the secrets the target uses: what going back to it needs.
  const used = [...new Set([...source.desired.values()].flatMap((process) => Object.keys(process.secretDigests)))].sort()
  return {
    time: new Date().toISOString(),
    kind: making.release,
    ...(making.rollbackOf !== undefined ? {rollbackOf: making.rollbackOf} : {}),
    target: source.text,
    secrets: Object.fromEntries(used.flatMap((name) => (source.secrets.has(name) ? [[name, source.secrets.get(name)!]] : []))),
    pins: Object.fromEntries(source.pins),
    resources: [...source.uses].flatMap(([id, uses]) => [...new Set(uses.map((use) => use.process))].map((process) => ({process, id}))),
    generations: Object.fromEntries(source.generations),
    versions: Object.fromEntries([...source.desired].map(([name, process]) => [name, process.version])),
    stopped: [...stopped].sort(),
    changes: [...(making.lines ?? []), ...changeLines(changes)],
    follow: changes.filter((change) => change.change !== 'unchanged'),
  }
}

export function summaryOf(release: StoredRelease): ReleaseSummary {
  return {
    number: release.number,
    time: release.time,
    kind: release.kind,
    ...(release.rollbackOf !== undefined ? {rollbackOf: release.rollbackOf} : {}),
    changes: release.changes,
    outcome: release.outcome,
  }
}

export function detailOf(release: StoredRelease): ReleaseDetail {
  return {
    ...summaryOf(release),
    target: release.target,
    secrets: Object.keys(release.secrets).sort(),
    resources: release.resources,
    versions: release.versions,
    stopped: release.stopped,
  }
}

export function historyOf(releases: readonly StoredRelease[], kept: number): HistoryResponse {
  return {releases: releases.map(summaryOf).reverse(), kept}
}
