/**
 * The sandbox presets a process can ask for (`sandbox: none | basic | strict`), as systemd unit
 * properties: each entry is one directive with its unit-file spelling (for `systemd-analyze
 * security` and the README) and its D-Bus value for a transient unit (signatures checked against
 * systemd 252 with `busctl introspect` and StartTransientUnit).
 *
 * `basic` suits any ordinary service; `strict` also makes the whole file system read-only except the
 * working directory, hides devices and other users' processes, allows only Unix and IP sockets,
 * filters system calls to `@system-service` and leaves the process no capabilities, root included.
 * MemoryDenyWriteExecute is an opt-in of its own: JIT runtimes (Node, Java, .NET, LuaJIT…) need
 * memory that is writable and executable, and Node 24 dies with SIGTRAP at start without it.
 */
import dbus from 'dbus-next'

const {Variant} = dbus

export const SANDBOX_PRESETS = ['none', 'basic', 'strict'] as const
export type SandboxPreset = (typeof SANDBOX_PRESETS)[number]

/** What a unit's sandbox is made of: the preset and what the process itself adds. */
export interface SandboxSpec {
  preset: SandboxPreset
  /** Directories the process must be able to write whatever the preset hides (its working directory). */
  writablePaths: string[]
  /** MemoryDenyWriteExecute=yes: no JIT. */
  memoryDenyWriteExecute?: boolean
  /**
   * DynamicUser=yes with this user name and StateDirectory= (the working directory): a user of its
   * own, allocated by systemd while any unit of that name runs (the instance and its checks share it).
   */
  dynamicUser?: string
}

export interface Directive {
  /** The unit-file name, e.g. `ProtectSystem`. */
  name: string
  /** The unit-file value, e.g. `strict`. */
  value: string
  variant: InstanceType<typeof Variant>
}

const yes = (name: string): Directive => ({name, value: 'yes', variant: new Variant('b', true)})
const word = (name: string, value: string): Directive => ({name, value, variant: new Variant('s', value)})

/** `RestrictNamespaces=yes` is the set of namespaces the unit may create: none. */
const NO_NAMESPACES = 0n
/** EPERM: a filtered system call fails instead of killing the process (SIGSYS). */
const EPERM = 1
/** BindPaths flags: recursive, like the unit-file default. */
const MS_REC = 16384n

const BASIC: Directive[] = [
  yes('NoNewPrivileges'),
  yes('PrivateTmp'),
  word('ProtectSystem', 'full'),
  word('ProtectHome', 'read-only'),
  yes('ProtectKernelTunables'),
  yes('ProtectKernelModules'),
  yes('ProtectKernelLogs'),
  yes('ProtectControlGroups'),
  yes('ProtectHostname'),
  yes('ProtectClock'),
  yes('RestrictSUIDSGID'),
  yes('LockPersonality'),
  yes('RestrictRealtime'),
]

const STRICT: Directive[] = [
  ...BASIC.filter((directive) => directive.name !== 'ProtectSystem'),
  word('ProtectSystem', 'strict'),
  yes('PrivateDevices'),
  yes('PrivateMounts'),
  word('ProtectProc', 'invisible'),
  {name: 'RestrictAddressFamilies', value: 'AF_INET AF_INET6 AF_UNIX', variant: new Variant('(bas)', [true, ['AF_INET', 'AF_INET6', 'AF_UNIX']])},
  {name: 'RestrictNamespaces', value: 'yes', variant: new Variant('t', NO_NAMESPACES)},
  {name: 'SystemCallFilter', value: '@system-service', variant: new Variant('(bas)', [true, ['@system-service']])},
  {name: 'SystemCallErrorNumber', value: 'EPERM', variant: new Variant('i', EPERM)},
  {name: 'SystemCallArchitectures', value: 'native', variant: new Variant('as', ['native'])},
  {name: 'CapabilityBoundingSet', value: '', variant: new Variant('t', 0n)},
  yes('RemoveIPC'),
]

/** The directives of a preset alone, in the order they are set (the README lists them so). */
export function presetDirectives(preset: SandboxPreset): Directive[] {
  return preset === 'strict' ? STRICT : preset === 'basic' ? BASIC : []
}

/** Every directive of a sandbox: the preset's, the opt-ins, and the writable paths it needs. */
export function sandboxDirectives(sandbox: SandboxSpec): Directive[] {
  const directives = [...presetDirectives(sandbox.preset)]
  if (sandbox.memoryDenyWriteExecute) directives.push(yes('MemoryDenyWriteExecute'))
  if (sandbox.dynamicUser !== undefined) {
    directives.push(
      yes('DynamicUser'),
      {name: 'User', value: sandbox.dynamicUser, variant: new Variant('s', sandbox.dynamicUser)},
      {name: 'StateDirectory', value: sandbox.dynamicUser, variant: new Variant('as', [sandbox.dynamicUser])},
    )
  }
  // Bound onto itself, the working directory stays visible and writable under PrivateTmp (a cwd
  // below /tmp or /var/tmp), ProtectHome and ProtectSystem=strict alike; ReadWritePaths= would
  // not show it under PrivateTmp.
  const hides = sandbox.preset !== 'none' || sandbox.dynamicUser !== undefined
  if (hides && sandbox.writablePaths.length > 0) {
    directives.push({
      name: 'BindPaths',
      value: sandbox.writablePaths.join(' '),
      variant: new Variant('a(ssbt)', sandbox.writablePaths.map((path) => [path, path, false, MS_REC])),
    })
  }
  return directives
}

export function sandboxProperties(sandbox: SandboxSpec | undefined): Array<[string, InstanceType<typeof Variant>]> {
  return sandbox ? sandboxDirectives(sandbox).map((directive) => [directive.name, directive.variant]) : []
}
