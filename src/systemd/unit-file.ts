/**
 * Unit-file text for the exact D-Bus properties launcho sends (toDbusProperties, toCheckProperties):
 * `t render`, the exposure score (`systemd-analyze security --offline=yes` on this text) and
 * `export` all render from the same property list that is started, so what is shown is what runs.
 *
 * Every property is mapped by name and D-Bus signature to its directive (ExecStartEx → ExecStart
 * with the `:` prefix of no-env-expand, RestartUSec → RestartSec, …); a property without a mapping,
 * or with another signature, throws: nothing is silently dropped. Values are written as
 * systemd.syntax(7) reads them back: `%` doubled where specifiers are expanded, words quoted with C
 * escapes where the directive unquotes, and a value the file cannot carry exactly (control
 * characters in a raw value, leading or trailing blanks, a trailing backslash) throws.
 */
import {constants} from 'node:os'
import type {DbusProperties} from './unit-spec.js'

export type Section = 'Unit' | 'Service' | 'Install'

interface Directive {
  section: Section
  /** The directive's name in a unit file. */
  name: string
  signature: string
  /** The values of one or more `name=value` lines. */
  render(value: unknown): string[]
}

export class UnitFileError extends Error {
  constructor(
    readonly property: string,
    message: string,
  ) {
    super(`cannot render ${property} as a unit file: ${message}`)
    this.name = 'UnitFileError'
  }
}

const UINT64_MAX = 2n ** 64n - 1n

/** One word for a directive that unquotes and C-unescapes (ExecStart, Environment, …): always quoted. */
export function quotedWord(text: string): string {
  if (text.includes('\0')) throw new Error('a NUL character cannot be written to a unit file')
  let out = '"'
  for (const char of text) {
    const code = char.codePointAt(0)!
    if (char === '\\') out += '\\\\'
    else if (char === '"') out += '\\"'
    else if (char === '%') out += '%%'
    else if (char === '\n') out += '\\n'
    else if (char === '\t') out += '\\t'
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`
    else out += char
  }
  return `${out}"`
}

/** A value taken as it is written (Description, User, WorkingDirectory, …), with specifiers expanded. */
export function rawText(text: string): string {
  if (/[\0-\x1f\x7f]/.test(text)) throw new Error('control characters cannot be written to a unit file unquoted')
  if (text !== text.trim()) throw new Error('leading or trailing blanks would be dropped by systemd')
  if (text.endsWith('\\')) throw new Error('a trailing backslash would continue the line')
  return text.replaceAll('%', '%%')
}

/** A fixed word (an enum value, a unit name): nothing systemd would read differently. */
function plainWord(text: string): string {
  if (!/^[A-Za-z0-9@._:+\/-]+$/.test(text)) throw new Error(`${JSON.stringify(text)} is not a plain word`)
  return text
}

const typed =
  <T>(guard: (value: unknown) => value is T, what: string, render: (value: T) => string[]) =>
  (value: unknown): string[] => {
    if (!guard(value)) throw new Error(`expected ${what}`)
    return render(value)
  }
const isString = (v: unknown): v is string => typeof v === 'string'
const isBigint = (v: unknown): v is bigint => typeof v === 'bigint'
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v)
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean'
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString)

/** Microseconds as a systemd time span: "100ms", "30s", "1500us"; UINT64_MAX is "infinity". */
export function timeSpan(usec: bigint): string {
  if (usec === UINT64_MAX) return 'infinity'
  if (usec === 0n) return '0'
  if (usec % 1_000_000n === 0n) return `${usec / 1_000_000n}s`
  if (usec % 1_000n === 0n) return `${usec / 1_000n}ms`
  return `${usec}us`
}

/** Bytes as systemd reads a size: the largest binary unit that divides it ("512M"); UINT64_MAX is "infinity". */
export function byteSize(bytes: bigint): string {
  if (bytes === UINT64_MAX) return 'infinity'
  for (const [unit, scale] of [['T', 1024n ** 4n], ['G', 1024n ** 3n], ['M', 1024n ** 2n], ['K', 1024n]] as const) {
    if (bytes !== 0n && bytes % scale === 0n) return `${bytes / scale}${unit}`
  }
  return String(bytes)
}

/** systemd's own unit-file prefixes for ExecStart*Ex flags. */
const EXEC_FLAG_PREFIX: Record<string, string> = {
  'ignore-failure': '-',
  privileged: '+',
  'no-setuid': '!',
  'ambient': '!!',
  'no-env-expand': ':',
}
const EXEC_PREFIX_CHARS = /^[-@:+!]/

type ExecEx = Array<[string, string[], string[]]>
const isExecEx = (v: unknown): v is ExecEx =>
  Array.isArray(v) &&
  v.every((c) => Array.isArray(c) && c.length === 3 && isString(c[0]) && isStrings(c[1]) && isStrings(c[2]))

/** `ExecStart=:/bin/echo "a" "b"`; `@` when argv[0] is not the path. One line per command. */
function execLines(commands: ExecEx): string[] {
  return commands.map(([path, argv, flags]) => {
    let prefix = ''
    for (const flag of flags) {
      const mark = EXEC_FLAG_PREFIX[flag]
      if (mark === undefined) throw new Error(`unknown exec flag ${JSON.stringify(flag)}`)
      prefix += mark
    }
    if (argv.length === 0) throw new Error('a command needs an argv')
    if (EXEC_PREFIX_CHARS.test(path)) throw new Error(`the program ${JSON.stringify(path)} starts with a character systemd reads as a prefix`)
    const [argv0, ...rest] = argv
    const head = argv0 === path ? [quotedWord(prefix + path)] : [quotedWord(`${prefix}@${path}`), quotedWord(argv0!)]
    return [...head, ...rest.map(quotedWord)].join(' ')
  })
}

const LOG_LEVELS = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug']
const CPU_SCHEDULING_POLICIES: Record<number, string> = {0: 'other', 1: 'fifo', 2: 'rr', 3: 'batch', 5: 'idle'}
const IO_SCHEDULING_CLASSES: Record<number, string> = {0: 'none', 1: 'realtime', 2: 'best-effort', 3: 'idle'}
const SIGNAL_NAMES: Record<number, string> = Object.fromEntries(Object.entries(constants.signals).map(([name, number]) => [number, name]))

/** Resource limits whose soft value is a property of its own (`LimitNOFILESoft`); a unit file writes `LimitNOFILE=SOFT:HARD`. */
const RLIMITS = ['NOFILE', 'CORE', 'FSIZE', 'DATA', 'STACK', 'RSS', 'AS', 'NPROC', 'MEMLOCK', 'LOCKS', 'SIGPENDING', 'MSGQUEUE', 'RTPRIO']

const directive = (section: Section, name: string, signature: string, render: (value: unknown) => string[]): Directive => ({
  section,
  name,
  signature,
  render,
})
const text = (section: Section, name: string) => directive(section, name, 's', typed(isString, 'a string', (v) => [rawText(v)]))
const word = (section: Section, name: string) => directive(section, name, 's', typed(isString, 'a string', (v) => [plainWord(v)]))
const bool = (name: string) => directive('Service', name, 'b', typed(isBoolean, 'a boolean', (v) => [v ? 'yes' : 'no']))
const time = (section: Section, name: string) => directive(section, name, 't', typed(isBigint, 'a uint64', (v) => [timeSpan(v)]))
const named = (name: string, names: Record<number, string>) =>
  directive(
    'Service',
    name,
    'i',
    typed(isNumber, 'an int32', (v) => {
      const found = names[v]
      if (found === undefined) throw new Error(`${v} has no name`)
      return [found]
    }),
  )
const size = (name: string) => directive('Service', name, 't', typed(isBigint, 'a uint64', (v) => [byteSize(v)]))
const count = (name: string) =>
  directive('Service', name, 't', typed(isBigint, 'a uint64', (v) => [v === UINT64_MAX ? 'infinity' : String(v)]))
/** One line per entry, each a quoted word (Environment, LogExtraFields): systemd unquotes and unescapes them. */
const quotedLines = (name: string) => directive('Service', name, 'as', typed(isStrings, 'a list of strings', (v) => v.map(quotedWord)))
const exec = (name: string) => directive('Service', name, 'a(sasas)', typed(isExecEx, 'a list of commands', execLines))
const words = (section: Section, name: string) =>
  directive(section, name, 'as', typed(isStrings, 'a list of strings', (v) => (v.length === 0 ? [] : [v.map(plainWord).join(' ')])))
const paths = (name: string) =>
  directive('Service', name, 'as', typed(isStrings, 'a list of strings', (v) => (v.length === 0 ? [] : [v.map(quotedWord).join(' ')])))

/** `(bas)` lists (RestrictAddressFamilies, SystemCallFilter): an allow list, or a deny list after `~`. */
const listFilter = (name: string) =>
  directive(
    'Service',
    name,
    '(bas)',
    typed(
      (v): v is [boolean, string[]] => Array.isArray(v) && v.length === 2 && isBoolean(v[0]) && isStrings(v[1]),
      'an (allow, names) pair',
      ([allow, names]) => [`${allow ? '' : '~'}${names.map(plainWord).join(' ')}`],
    ),
  )

const ERRNO_NAMES: Record<number, string> = {1: 'EPERM', 13: 'EACCES', 38: 'ENOSYS'}
const MS_REC = 16384n

/** A mask that launcho only ever sends as all bits clear or all set. */
function allOrNothing(mask: bigint, none: string, all: string): string {
  if (mask === 0n) return none
  if (mask === UINT64_MAX) return all
  throw new Error(`the mask ${mask} is neither empty nor full`)
}

/** A path in BindPaths= / LoadCredential=, where ":" separates fields and blanks split entries. */
function bindPath(path: string): string {
  if (/[\s:"'\\]/.test(path)) throw new Error(`${JSON.stringify(path)} holds a blank, ":", a quote or a backslash`)
  return rawText(path)
}

/** Keyed by D-Bus property name. Add a property here before sending it, so render and start never differ. */
const DIRECTIVES: Record<string, Directive> = {
  Description: text('Unit', 'Description'),
  PartOf: words('Unit', 'PartOf'),
  Wants: words('Unit', 'Wants'),
  After: words('Unit', 'After'),
  Before: words('Unit', 'Before'),
  Requires: words('Unit', 'Requires'),
  BindsTo: words('Unit', 'BindsTo'),
  CollectMode: word('Unit', 'CollectMode'),
  StartLimitIntervalUSec: time('Unit', 'StartLimitIntervalSec'),
  StartLimitBurst: directive('Unit', 'StartLimitBurst', 'u', typed(isNumber, 'a uint32', (v) => [String(v)])),

  Slice: word('Service', 'Slice'),
  Type: word('Service', 'Type'),
  ExecStartEx: exec('ExecStart'),
  ExecStartPreEx: exec('ExecStartPre'),
  ExecStartPostEx: exec('ExecStartPost'),
  ExecStopEx: exec('ExecStop'),
  ExecStopPostEx: exec('ExecStopPost'),
  Restart: word('Service', 'Restart'),
  RestartUSec: time('Service', 'RestartSec'),
  TimeoutStartUSec: time('Service', 'TimeoutStartSec'),
  TimeoutStopUSec: time('Service', 'TimeoutStopSec'),
  KillMode: word('Service', 'KillMode'),
  KillSignal: named('KillSignal', SIGNAL_NAMES),
  WorkingDirectory: text('Service', 'WorkingDirectory'),
  User: text('Service', 'User'),
  Group: text('Service', 'Group'),
  Environment: quotedLines('Environment'),
  EnvironmentFiles: directive(
    'Service',
    'EnvironmentFile',
    'a(sb)',
    typed(
      (v): v is Array<[string, boolean]> => Array.isArray(v) && v.every((f) => Array.isArray(f) && isString(f[0]) && isBoolean(f[1])),
      'a list of (path, ignore-missing)',
      (files) => files.map(([path, optional]) => (optional ? '-' : '') + rawText(path)),
    ),
  ),
  StandardOutput: word('Service', 'StandardOutput'),
  StandardError: word('Service', 'StandardError'),
  StandardOutputFile: directive('Service', 'StandardOutput', 's', typed(isString, 'a path', (v) => [`file:${rawText(v)}`])),
  StandardErrorFile: directive('Service', 'StandardError', 's', typed(isString, 'a path', (v) => [`file:${rawText(v)}`])),
  SyslogIdentifier: text('Service', 'SyslogIdentifier'),
  LogExtraFields: directive(
    'Service',
    'LogExtraFields',
    'aay',
    typed(
      (v): v is Uint8Array[] => Array.isArray(v) && v.every((b) => b instanceof Uint8Array),
      'a list of byte arrays',
      (fields) =>
        fields.map((bytes) => {
          const field = Buffer.from(bytes).toString('utf8')
          if (!Buffer.from(field, 'utf8').equals(Buffer.from(bytes))) throw new Error('a journal field is not UTF-8')
          return quotedWord(field)
        }),
    ),
  ),
  LogLevelMax: directive(
    'Service',
    'LogLevelMax',
    'i',
    typed(isNumber, 'a log level', (v) => {
      const level = LOG_LEVELS[v]
      if (level === undefined) throw new Error(`log level ${v} is not 0-7`)
      return [level]
    }),
  ),

  // Limits and accounting.
  MemoryMax: size('MemoryMax'),
  MemoryHigh: size('MemoryHigh'),
  MemorySwapMax: size('MemorySwapMax'),
  CPUQuotaPerSecUSec: directive(
    'Service',
    'CPUQuota',
    't',
    typed(isBigint, 'a uint64', (v) => {
      if (v === UINT64_MAX) return ['']
      // CPUQuota= takes a percentage with up to two decimals: 10000 µs per second is 1%.
      if (v % 100n !== 0n) throw new Error(`${v} µs per second is not a whole hundredth of a percent`)
      const hundredths = v / 100n
      const whole = hundredths / 100n
      const fraction = hundredths % 100n
      return [`${whole}${fraction === 0n ? '' : `.${String(fraction).padStart(2, '0').replace(/0$/, '')}`}%`]
    }),
  ),
  CPUWeight: count('CPUWeight'),
  IOWeight: count('IOWeight'),
  TasksMax: count('TasksMax'),
  Nice: directive('Service', 'Nice', 'i', typed(isNumber, 'an int32', (v) => [String(v)])),
  OOMScoreAdjust: directive('Service', 'OOMScoreAdjust', 'i', typed(isNumber, 'an int32', (v) => [String(v)])),
  CPUQuotaPeriodUSec: time('Service', 'CPUQuotaPeriodSec'),
  MemoryLow: size('MemoryLow'),
  MemoryMin: size('MemoryMin'),
  OOMPolicy: word('Service', 'OOMPolicy'),
  CPUSchedulingPolicy: named('CPUSchedulingPolicy', CPU_SCHEDULING_POLICIES),
  CPUSchedulingPriority: directive('Service', 'CPUSchedulingPriority', 'i', typed(isNumber, 'an int32', (v) => [String(v)])),
  CPUSchedulingResetOnFork: bool('CPUSchedulingResetOnFork'),
  IOSchedulingClass: named('IOSchedulingClass', IO_SCHEDULING_CLASSES),
  IOSchedulingPriority: directive('Service', 'IOSchedulingPriority', 'i', typed(isNumber, 'an int32', (v) => [String(v)])),
  RuntimeMaxUSec: time('Service', 'RuntimeMaxSec'),
  TimerSlackNSec: directive('Service', 'TimerSlackNSec', 't', typed(isBigint, 'a uint64', (v) => [`${v}ns`])),
  SendSIGHUP: bool('SendSIGHUP'),
  IgnoreSIGPIPE: bool('IgnoreSIGPIPE'),
  LogRateLimitIntervalUSec: time('Service', 'LogRateLimitIntervalSec'),
  LogRateLimitBurst: directive('Service', 'LogRateLimitBurst', 'u', typed(isNumber, 'a uint32', (v) => [String(v)])),
  UMask: directive('Service', 'UMask', 'u', typed(isNumber, 'a uint32', (v) => [v.toString(8).padStart(4, '0')])),
  CPUAccounting: bool('CPUAccounting'),
  MemoryAccounting: bool('MemoryAccounting'),
  TasksAccounting: bool('TasksAccounting'),
  IOAccounting: bool('IOAccounting'),

  // Sandboxing (booleans and enums share their unit-file names).
  NoNewPrivileges: bool('NoNewPrivileges'),
  PrivateTmp: bool('PrivateTmp'),
  PrivateDevices: bool('PrivateDevices'),
  PrivateNetwork: bool('PrivateNetwork'),
  PrivateUsers: bool('PrivateUsers'),
  DynamicUser: bool('DynamicUser'),
  ProtectKernelTunables: bool('ProtectKernelTunables'),
  ProtectKernelModules: bool('ProtectKernelModules'),
  ProtectKernelLogs: bool('ProtectKernelLogs'),
  ProtectControlGroups: bool('ProtectControlGroups'),
  ProtectClock: bool('ProtectClock'),
  ProtectHostname: bool('ProtectHostname'),
  RestrictSUIDSGID: bool('RestrictSUIDSGID'),
  RestrictRealtime: bool('RestrictRealtime'),
  LockPersonality: bool('LockPersonality'),
  MemoryDenyWriteExecute: bool('MemoryDenyWriteExecute'),
  RemoveIPC: bool('RemoveIPC'),
  PrivateMounts: bool('PrivateMounts'),
  ProtectSystem: word('Service', 'ProtectSystem'),
  ProtectHome: word('Service', 'ProtectHome'),
  ProtectProc: word('Service', 'ProtectProc'),
  ProcSubset: word('Service', 'ProcSubset'),
  ReadWritePaths: paths('ReadWritePaths'),
  StateDirectory: paths('StateDirectory'),
  ReadOnlyPaths: paths('ReadOnlyPaths'),
  InaccessiblePaths: paths('InaccessiblePaths'),
  SystemCallArchitectures: words('Service', 'SystemCallArchitectures'),
  RestrictAddressFamilies: listFilter('RestrictAddressFamilies'),
  SystemCallFilter: listFilter('SystemCallFilter'),
  SystemCallErrorNumber: directive('Service', 'SystemCallErrorNumber', 'i', typed(isNumber, 'an errno', (v) => [ERRNO_NAMES[v] ?? String(v)])),
  RestrictNamespaces: directive('Service', 'RestrictNamespaces', 't', typed(isBigint, 'a uint64', (v) => [allOrNothing(v, 'yes', 'no')])),
  CapabilityBoundingSet: directive('Service', 'CapabilityBoundingSet', 't', typed(isBigint, 'a uint64', (v) => [allOrNothing(v, '', '~')])),
  BindPaths: directive(
    'Service',
    'BindPaths',
    'a(ssbt)',
    typed(
      (v): v is Array<[string, string, boolean, bigint]> =>
        Array.isArray(v) && v.every((b) => Array.isArray(b) && isString(b[0]) && isString(b[1]) && isBoolean(b[2]) && isBigint(b[3])),
      'a list of (source, destination, ignore-missing, flags)',
      (binds) => binds.map(([source, destination, optional, flags]) => `${optional ? '-' : ''}${bindPath(source)}:${bindPath(destination)}:${flags & MS_REC ? 'rbind' : 'norbind'}`),
    ),
  ),
  LoadCredential: directive(
    'Service',
    'LoadCredential',
    'a(ss)',
    typed(
      (v): v is Array<[string, string]> => Array.isArray(v) && v.every((c) => Array.isArray(c) && isString(c[0]) && isString(c[1])),
      'a list of (name, path)',
      (credentials) => credentials.map(([name, path]) => `${plainWord(name)}:${bindPath(path)}`),
    ),
  ),
}

/** The directive `property` becomes, or undefined when launcho cannot render it. */
export function directiveOf(property: string): {section: Section; name: string; signature: string} | undefined {
  const found = DIRECTIVES[property] ?? (rlimitOf(property) && {section: 'Service' as const, name: `Limit${rlimitOf(property)!.limit}`, signature: 't'})
  return found && {section: found.section, name: found.name, signature: found.signature}
}

function rlimitOf(property: string): {limit: string; soft: boolean} | undefined {
  const match = /^Limit([A-Z]+?)(Soft)?$/.exec(property)
  return match && RLIMITS.includes(match[1]!) ? {limit: match[1]!, soft: match[2] !== undefined} : undefined
}

const rlimitValue = (v: bigint) => (v === UINT64_MAX ? 'infinity' : String(v))

/** `LimitX=SOFT:HARD` from the pair LimitX (hard) and LimitXSoft, which launcho always sends together. */
function rlimitLines(properties: DbusProperties, property: string, signature: string, value: unknown): string[] {
  const {limit, soft} = rlimitOf(property)!
  if (soft) return []
  if (signature !== 't' || !isBigint(value)) throw new UnitFileError(property, `its D-Bus signature is t, got ${signature}`)
  const partner = properties.find(([name]) => name === `Limit${limit}Soft`)?.[1]
  if (!partner || partner.signature !== 't' || !isBigint(partner.value)) {
    throw new UnitFileError(property, `Limit${limit}Soft must go with it: a unit file sets both`)
  }
  const text = partner.value === value ? rlimitValue(value) : `${rlimitValue(partner.value)}:${rlimitValue(value)}`
  return [`Limit${limit}=${text}`]
}

/** The `Name=value` lines of one property, by section; throws UnitFileError when it cannot be rendered exactly. */
export function directiveLines(property: string, signature: string, value: unknown): {section: Section; lines: string[]} {
  const found = DIRECTIVES[property]
  if (!found) throw new UnitFileError(property, 'launcho has no unit-file directive for this property')
  if (found.signature !== signature) throw new UnitFileError(property, `its D-Bus signature is ${found.signature}, got ${signature}`)
  try {
    return {section: found.section, lines: found.render(value).map((line) => `${found.name}=${line}`)}
  } catch (error) {
    throw new UnitFileError(property, (error as Error).message)
  }
}

export interface UnitFileOptions {
  /** Comment lines at the top (without the leading "# "). */
  header?: string[]
  /** [Install] directives, e.g. {WantedBy: ['multi-user.target']}: only for files installed by hand. */
  install?: Record<string, string[]>
}

/** The unit file for `properties`, in their order within each section. */
export function unitFileText(properties: DbusProperties, options: UnitFileOptions = {}): string {
  const sections: Record<Section, string[]> = {Unit: [], Service: [], Install: []}
  for (const [property, variant] of properties) {
    const rlimit = rlimitOf(property)
    if (rlimit) {
      if (rlimit.soft && !properties.some(([name]) => name === `Limit${rlimit.limit}`)) {
        throw new UnitFileError(property, `Limit${rlimit.limit} must go with it: a unit file sets both`)
      }
      sections.Service.push(...rlimitLines(properties, property, variant.signature, variant.value))
      continue
    }
    const {section, lines} = directiveLines(property, variant.signature, variant.value)
    sections[section].push(...lines)
  }
  for (const [name, values] of Object.entries(options.install ?? {})) {
    if (values.length > 0) sections.Install.push(`${name}=${values.map(plainWord).join(' ')}`)
  }
  const header = (options.header ?? []).map((line) => {
    if (/[\r\n]/.test(line)) throw new Error('a header line must not contain a line break')
    return line === '' ? '#' : `# ${line}`
  })
  const blocks = (Object.keys(sections) as Section[])
    .filter((section) => sections[section].length > 0)
    .map((section) => [`[${section}]`, ...sections[section]].join('\n'))
  return `${[...(header.length > 0 ? [header.join('\n')] : []), ...blocks].join('\n\n')}\n`
}
