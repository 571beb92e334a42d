/**
 * `t render`: each unit of a target as launcho would start it, and `export`: plain unit files (and
 * their env files) that run the current instances without launcho — the same properties, minus
 * what only a transient unit managed by launcho needs, plus an [Install] section.
 */
import {isAbsolute, posix} from 'node:path'
import dbus from 'dbus-next'
import {LaunchoError} from '../errors.js'
import type {ExportBody, ExportResponse, RenderBody, RenderResponse} from '../protocol/units.js'
import type {DesiredProcess, DesiredState} from '../reconcile/desired.js'
import {unitFileText} from '../systemd/unit-file.js'
import type {DbusProperties} from '../systemd/unit-spec.js'
import type {TargetService} from './target-service.js'
import {environmentFileText, shownUnitText, UnitRenderer, type RenderedUnit} from './unit-renderer.js'

const {Variant} = dbus

/** What a transient unit under launcho needs and a unit installed by hand must not keep. */
const TRANSIENT_ONLY = new Set([
  // launcho's crash back-off replaced systemd's start limit; without launcho, systemd's own applies.
  'StartLimitIntervalUSec',
  // launcho collects failed units itself; an installed unit stays to be looked at.
  'CollectMode',
])

export class UnitService {
  constructor(
    private readonly targets: TargetService,
    private readonly renderer: UnitRenderer,
  ) {}

  async render(body: RenderBody): Promise<RenderResponse> {
    const desired = await this.targets.desiredOf(body.text)
    const units = this.chosen(desired, body.process).flatMap((process) =>
      this.renderer.unitsOf(process, true).map((rendered) => ({
        process: rendered.process,
        unit: rendered.unit,
        replica: rendered.replica,
        text: shownUnitText(rendered, process),
      })),
    )
    return {units}
  }

  async export(body: ExportBody): Promise<ExportResponse> {
    if (!isAbsolute(body.envDir) || posix.normalize(body.envDir) !== body.envDir || /[\0-\x1f\x7f\s%\\]/.test(body.envDir)) {
      throw new LaunchoError('invalid_request', `the env file directory must be a normalised absolute path without blanks, "%" or "\\" (got ${JSON.stringify(body.envDir)})`, {
        hint: 'pass --env-dir /etc/launcho-export, or leave it out to use the export directory',
      })
    }
    const desired = await this.targets.desiredOf(undefined)
    const response: ExportResponse = {units: [], skipped: []}
    for (const process of this.chosen(desired, body.process)) {
      for (const rendered of this.renderer.unitsOf(process, false)) {
        if (!rendered.portsAssigned) {
          response.skipped.push({process: rendered.process, instance: rendered.unit, reason: 'not running: its ports are assigned when it starts'})
          continue
        }
        response.units.push(this.exported(process, rendered, body.envDir))
      }
    }
    return response
  }

  private exported(process: DesiredProcess, rendered: RenderedUnit, envDir: string): ExportResponse['units'][number] {
    const stem = `launcho-${rendered.process}${rendered.replica === 0 ? '' : `-${rendered.replica}`}`
    const envPath = posix.join(envDir, `${stem}.env`)
    const properties: DbusProperties = [['After', new Variant('as', ['network.target'])]]
    for (const [name, variant] of rendered.properties) {
      if (TRANSIENT_ONLY.has(name)) continue
      if (name === 'EnvironmentFiles') properties.push([name, new Variant('a(sb)', [[envPath, false]])])
      else if (name === 'LogExtraFields') {
        // Not this server's unit any more: its journal lines must not claim to be.
        const fields = (variant.value as Uint8Array[]).filter((field) => !Buffer.from(field).toString().startsWith('LAUNCHO_SERVER='))
        properties.push([name, new Variant('aay', fields)])
      } else properties.push([name, variant])
    }
    const ports = (rendered.properties.find(([name]) => name === 'Environment')?.[1].value as string[] | undefined) ?? []
    const header = [
      `${stem}.service: ${rendered.process} as launcho runs it in ${rendered.unit}, as a plain unit that runs without launcho.`,
      'Install it as root:',
      `  install -m 0644 ${stem}.service /etc/systemd/system/`,
      `  install -d -m 0700 ${envDir} && install -m 0600 ${stem}.env ${envDir}/   (if it is not there already: it holds the secrets)`,
      `  systemctl daemon-reload && systemctl enable --now ${stem}.service`,
      ...(ports.length > 0 ? [`Its ports are the ones ${rendered.unit} holds now: stop that instance (remove ${rendered.process} from the target) before starting this one.`] : []),
      ...(process.spec.cwd === undefined
        ? [`WorkingDirectory is launcho's work dir of ${rendered.unit} (its resources are unpacked there), which launcho removes when it stops that instance: copy it elsewhere and change WorkingDirectory= first.`]
        : []),
      'Restarted by systemd on failure, within systemd\'s default start limit (launcho\'s crash back-off does not come along).',
    ]
    return {
      process: rendered.process,
      instance: rendered.unit,
      file: `${stem}.service`,
      text: unitFileText(properties, {header, install: {WantedBy: ['multi-user.target']}}),
      envFile: {name: `${stem}.env`, text: environmentFileText(process)},
    }
  }

  private chosen(desired: DesiredState, name: string | undefined): DesiredProcess[] {
    if (name === undefined) return [...desired.values()]
    const process = desired.get(name)
    if (!process) {
      throw new LaunchoError('not_found', `no process ${JSON.stringify(name)} in the target`, {hint: 'launcho t get shows the processes of the target'})
    }
    return [process]
  }
}
