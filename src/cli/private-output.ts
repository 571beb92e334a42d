/**
 * Writing a file that holds a credential: with `--out`, atomically at 0600; on standard output,
 * the file a shell redirected it into is made 0600 too (`> file` creates it 0644 under the usual
 * umask), and when that cannot be done the user is told, never left with a readable token.
 */
import {fstatSync, fchmodSync, writeSync} from 'node:fs'
import {writeFileAtomic} from '../store/atomic.js'

export async function writeAtomicPrivate(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, text, 0o600)
}

/** Writes `text` to fd 1; returns a warning when what it lands in stays readable by others. */
export async function writePrivateOutput(text: string, fd = 1): Promise<string | undefined> {
  let warning: string | undefined
  const stat = fstatSync(fd)
  if (stat.isFile() && (stat.mode & 0o077) !== 0) {
    try {
      fchmodSync(fd, 0o600)
    } catch (error) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0')
      warning = `the file standard output goes to is readable by others (mode ${mode}) and could not be made 0600 (${(error as NodeJS.ErrnoException).code}); it holds the API token: chmod 600 it, or use --out FILE`
    }
  }
  const bytes = Buffer.from(text)
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at)
  return warning
}
