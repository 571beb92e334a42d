/**
 * A throwaway Debian root for `dpkg -i`: this machine's own root, with /usr, /etc and /var turned
 * into overlays whose upper layers live on a tmpfs, inside a private mount namespace. dpkg, its
 * database, the maintainer scripts and triggers all run for real and write only to the upper
 * layers, which vanish with the namespace; the host's /var/tmp (where tests keep their files) is
 * bound back in unchanged. Nothing needs downloading, so it works the same on a fresh CI machine.
 */
import {execFile} from 'node:child_process'
import {promisify} from 'node:util'
import type {Harness} from './harness.js'

const run = promisify(execFile)

/** bash script: overlays /usr, /etc and /var of the current mount namespace onto layers under $1. */
const overlayScript = `set -euo pipefail
base=$1
# The sandbox makes its mounts shared (for systemd's credential mounts); a mount under a shared one
# cannot be moved, so this namespace's stay private.
mount --make-rprivate /
mkdir -p "$base/vartmp"
mount --bind /var/tmp "$base/vartmp"
for dir in usr etc var; do
  mkdir -p "$base/$dir/upper" "$base/$dir/work"
  mount -t overlay overlay -o "lowerdir=/$dir,upperdir=$base/$dir/upper,workdir=$base/$dir/work" "/$dir"
done
mount --move "$base/vartmp" /var/tmp
`

/**
 * Makes the sandbox's own mount namespace such a root (its /run is already a private tmpfs), so
 * the packaged unit runs under the sandbox's systemd with exactly the files dpkg installed.
 */
export async function overlayRootInSandbox(h: Harness): Promise<void> {
  await h.inside(['bash', '-c', overlayScript, 'overlay-root', '/run/launcho-test-root'])
}

/**
 * Runs a bash script in a new mount namespace turned into such a root, with an empty /run: no
 * systemd runs there, as in a chroot or an image build. Returns its stdout and stderr.
 */
export async function inRootWithoutSystemd(script: string): Promise<{stdout: string; stderr: string}> {
  const wrapper = `mount -t tmpfs -o mode=0755 tmpfs /run\nbash -c "$OVERLAY" overlay-root /run/launcho-test-root\n${script}`
  return run('unshare', ['--mount', '--propagation', 'private', 'bash', '-c', `set -euo pipefail\n${wrapper}`], {
    env: {...process.env, OVERLAY: overlayScript, PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'},
    maxBuffer: 16 * 1024 * 1024,
  })
}
