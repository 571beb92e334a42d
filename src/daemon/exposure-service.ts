/**
 * The exposure of each process's unit exactly as launcho would create it: the replica-0 unit of its
 * desired version rendered from the same D-Bus properties that are started (toDbusProperties →
 * unitFileText), then scored by systemd-analyze (systemd/exposure.ts). Ports are not known before
 * an instance starts; they are only environment values and weigh nothing in the score.
 */
import {portVariable} from '../lb/ports.js'
import {unitSpecOf, workDirOf, type DesiredProcess, type UnitTimings} from '../reconcile/desired.js'
import type {StateDir} from '../store/state-dir.js'
import {ExposureScorer, type Exposure} from '../systemd/exposure.js'
import {unitFileText} from '../systemd/unit-file.js'
import {toDbusProperties} from '../systemd/unit-spec.js'

export interface ExposureMeter {
  /** Process name → its exposure; a process whose unit cannot be rendered as a file is left out. Throws ExposureError. */
  of(processes: DesiredProcess[]): Promise<Map<string, Exposure>>
}

export class ExposureService implements ExposureMeter {
  constructor(
    private readonly stateDir: StateDir,
    private readonly timings: UnitTimings,
    private readonly scorer = new ExposureScorer(),
    /** Told when a process's unit cannot be written as a file (a value no unit file can hold exactly). */
    private readonly onUnrenderable?: (process: string, error: Error) => void,
  ) {}

  async of(processes: DesiredProcess[]): Promise<Map<string, Exposure>> {
    const texts = new Map<string, string>()
    for (const process of processes) {
      const text = this.unitText(process)
      if (text !== undefined) texts.set(process.spec.name, text)
    }
    return this.scorer.score(texts)
  }

  /** The unit file of the process's first replica, or undefined when a value cannot be written to a file. */
  unitText(process: DesiredProcess): string | undefined {
    const unit = process.unit
    const ports = Object.fromEntries(process.spec.receives.map((service) => [portVariable(service), '0']))
    const spec = unitSpecOf(
      process,
      unit,
      {
        workingDirectory: workDirOf(process, unit, this.stateDir).workingDirectory,
        environmentFile: this.stateDir.environmentFile(unit),
        ports,
        credentialsDir: this.stateDir.credentialsDir(unit),
      },
      this.timings,
    )
    try {
      return unitFileText(toDbusProperties(spec))
    } catch (error) {
      this.onUnrenderable?.(process.spec.name, error as Error)
      return undefined
    }
  }
}
