/**
 * The server's state dir (default /var/lib/launcho). Its root is 0711 so that processes running as
 * other users can reach their own working directory under instances/ without being able to list
 * anything; every file holding a key, token, target or secret is 0600.
 *
 *   launcho-server-auth.yaml  cert, private key, token (0600)
 *   target.yaml               the target text exactly as set (0600)
 *   secrets.json              secret values (0600)
 *   restarts.json             restart generation per process (0600)
 *   version-key               key of the version hashes, so they reveal nothing of secrets (0600)
 *   releases/<n>.json         each kept release: target, the secret values it used, resources (dir 0700, files 0600)
 *   stopped.json              processes paused with `launcho stop` (0600)
 *   environments/<unit>.env   each instance's env, read by systemd as root (dir 0700, files 0600)
 *   environments/<unit>.credentials/NAME  each instance's credentials, copied by systemd (dirs 0700, files 0600)
 *   instances/<unit>/         fresh working directory of each instance, owned by its user
 *   dynamic-users/<unit>      which /var/lib/private/<unit> work dirs of dynamic users are this server's (0700)
 */
import {join} from 'node:path'
import {ensurePrivateDir, removeStaleTempFiles} from './atomic.js'

export const CREDENTIALS_SUFFIX = '.credentials'

export class StateDir {
  constructor(
    readonly root: string,
    private readonly environments?: string,
  ) {}

  get authFile(): string {
    return join(this.root, 'launcho-server-auth.yaml')
  }

  get targetFile(): string {
    return join(this.root, 'target.yaml')
  }

  get secretsFile(): string {
    return join(this.root, 'secrets.json')
  }

  get generationsFile(): string {
    return join(this.root, 'restarts.json')
  }

  get releasesDir(): string {
    return join(this.root, 'releases')
  }

  get stoppedFile(): string {
    return join(this.root, 'stopped.json')
  }

  get failedRolloutsFile(): string {
    return join(this.root, 'failed-rollouts.json')
  }

  get versionKeyFile(): string {
    return join(this.root, 'version-key')
  }

  get environmentsDir(): string {
    return this.environments ?? join(this.root, 'environments')
  }

  environmentFile(unitName: string): string {
    return join(this.environmentsDir, `${unitName.replace(/\.service$/, '')}.env`)
  }

  /** The instance's credential files (root's, 0700), one per name: systemd's LoadCredential= sources. */
  credentialsDir(unitName: string): string {
    return join(this.environmentsDir, `${unitName.replace(/\.service$/, '')}${CREDENTIALS_SUFFIX}`)
  }

  /** One empty file per dynamic user's work dir this server made under /var/lib/private (reconcile/dynamic-user.ts). */
  get dynamicUsersDir(): string {
    return join(this.root, 'dynamic-users')
  }

  get instancesDir(): string {
    return join(this.root, 'instances')
  }

  instanceDir(unitName: string): string {
    return join(this.instancesDir, unitName.replace(/\.service$/, ''))
  }

  async ensure(): Promise<void> {
    await ensurePrivateDir(this.root, 0o711)
    await ensurePrivateDir(this.instancesDir, 0o711)
    await ensurePrivateDir(this.environmentsDir, 0o700)
    // A crash between writing a temp file and renaming it leaves the temp file behind.
    await removeStaleTempFiles(this.root)
    await removeStaleTempFiles(this.environmentsDir)
  }
}
