/**
 * Harness.startServer with the reliability tests' defaults: an optional argv prefix (e.g.
 * `unshare --mount … sh -c …` for a private tmpfs state dir) and, unless asked, no `print-auth`
 * run: the auth file only gets the new port, which keeps 50+ restarts fast.
 */
import type {Harness} from '../../helpers/harness.js'

export interface StartOptions {
  extraArgs?: string[]
  /** argv run before `node launcho server …` (must exec it in the end). */
  prefix?: string[]
  /** Run print-auth (first start of a state dir); otherwise only the port in the auth file changes. */
  printAuth?: boolean
  /** Where print-auth reads the identity (default: the harness's state dir). */
  authStateDir?: string
}

export async function startServer(h: Harness, options: StartOptions = {}): Promise<void> {
  await h.startServer(options.extraArgs ?? [], {
    ...(options.prefix ? {prefix: options.prefix} : {}),
    printAuth: options.printAuth ?? false,
    ...(options.authStateDir ? {authStateDir: options.authStateDir} : {}),
  })
}
