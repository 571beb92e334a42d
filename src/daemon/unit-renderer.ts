/**
 * The units of a desired process exactly as the reconciler starts them (unitSpecOf, then the
 * server's startPropertiesOf), for `t render`, the property-level `t diff` and `export`. Shown
 * units are rendered from the target as written: a secret in the command reads `${NAME}`, and the
 * env file is named, its lines listed as written (placeholders kept). Ports are the instance's own
 * while it has them; a unit that has none yet shows `<port>`, which launcho assigns at its start.
 */
import {portVariable} from '../lb/ports.js'
import {maskedArgvOf, unitSpecOf, type DesiredProcess, type UnitTimings} from '../reconcile/desired.js'
import type {StateDir} from '../store/state-dir.js'
import {renderEnvironmentFile} from '../systemd/environment-file.js'
import {unitFileText} from '../systemd/unit-file.js'
import {replicaOf} from '../systemd/unit-name.js'
import {startPropertiesOf, type DbusProperties} from '../systemd/unit-spec.js'

export const UNASSIGNED_PORT = '<port>'

export interface UnitRendererOptions {
  stateDir: StateDir
  timings: UnitTimings
  /** Journal fields the server adds to every unit it starts. */
  stamp: Record<string, string>
  /** The ports an instance holds now, if any. */
  ports: (unit: string) => Record<string, number> | undefined
}

export interface RenderedUnit {
  process: string
  unit: string
  replica: number
  properties: DbusProperties
  /** Whether the ports are the instance's own (false: not assigned yet, shown as <port>). */
  portsAssigned: boolean
  environmentFile: string
}

export class UnitRenderer {
  constructor(private readonly options: UnitRendererOptions) {}

  /**
   * Each replica's unit. `shown`: from the target as written (secrets as `${NAME}`); otherwise as
   * it runs, secrets substituted (for export, whose files must run the same process).
   */
  unitsOf(process: DesiredProcess, shown: boolean, options: {ports?: boolean} = {}): RenderedUnit[] {
    const source: DesiredProcess = shown ? {...process, spec: process.template, argv: maskedArgvOf(process.template)} : process
    return process.units.map((unit) => this.unitOf(source, unit, options.ports ?? true))
  }

  private unitOf(process: DesiredProcess, unit: string, withPorts: boolean): RenderedUnit {
    const {stateDir, timings, stamp} = this.options
    const held = withPorts ? this.options.ports(unit) : undefined
    const ports = Object.fromEntries(
      process.spec.receives.map((service) => [portVariable(service), held?.[service] !== undefined ? String(held[service]) : UNASSIGNED_PORT]),
    )
    const environmentFile = stateDir.environmentFile(unit)
    const workingDirectory = process.spec.cwd ?? stateDir.instanceDir(unit)
    const spec = unitSpecOf(process, unit, {workingDirectory, environmentFile, ports}, timings)
    return {
      process: process.spec.name,
      unit,
      replica: replicaOf(unit) ?? 0,
      properties: startPropertiesOf(spec, stamp),
      portsAssigned: process.spec.receives.every((service) => held?.[service] !== undefined),
      environmentFile,
    }
  }
}

/** `t render`'s text of one unit: a header, the unit file, and what its env file holds as written. */
export function shownUnitText(rendered: RenderedUnit, process: DesiredProcess): string {
  const env = Object.entries(process.template.env)
  const header = [
    `${rendered.unit}: as launcho starts it (a transient unit; secrets shown as \${NAME})`,
    ...(rendered.portsAssigned ? [] : [`ports are assigned when the instance starts: shown as ${UNASSIGNED_PORT}`]),
    `${rendered.environmentFile} (root only) holds the process's env${env.length === 0 ? ': nothing' : ', as written in the target:'}`,
    ...env.map(([key, value]) => `  ${key}=${JSON.stringify(value)}`),
  ]
  return unitFileText(rendered.properties, {header})
}

/** The env file the reconciler writes for `process` (secrets substituted). */
export const environmentFileText = (process: DesiredProcess): string => renderEnvironmentFile(process.spec.env)
