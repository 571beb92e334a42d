/**
 * An instance's environment as a systemd EnvironmentFile. Unlike `Environment=`, which systemd
 * shows to every local user (`systemctl show`), the file is read by systemd as root and kept 0600,
 * so secret values stay between launcho, systemd and the process itself.
 *
 * Every value is double-quoted: inside quotes systemd keeps whitespace, newlines, "#" and "="
 * verbatim and unescapes exactly `\"`, `\\`, `` \` `` and `\$` (systemd.exec(5), EnvironmentFile=).
 */
export function renderEnvironmentFile(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([key, value]) => `${key}="${value.replace(/[\\"`$]/g, (c) => `\\${c}`)}"\n`)
    .join('')
}
