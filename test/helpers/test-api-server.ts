/**
 * A real launcho API server (TLS, token, fastify) with routes a test registers, in a fresh
 * directory: for the CLI and the typed client against answers a real server would rarely give.
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {FastifyInstance} from 'fastify'
import {pino} from 'pino'
import {createApiServer, type ApiServer, type ApiServerOptions} from '../../src/api/server.js'
import {clientAuthText, loadOrCreateServerAuth, type ServerAuth} from '../../src/api/server-auth.js'

export interface TestApiServer {
  server: ApiServer
  dir: string
  auth: ServerAuth
  port: number
  /** `127.0.0.1:PORT` */
  host: string
  /** A client auth file for it (0600), as print-auth writes one. */
  authFile: string
  close(): Promise<void>
}

export async function startTestApiServer(
  name: string,
  register: (app: FastifyInstance) => void,
  options: Pick<ApiServerOptions, 'bodyLimit' | 'timeouts' | 'maxWaitingConnections'> = {},
): Promise<TestApiServer> {
  const dir = await mkdtemp(join(tmpdir(), `launcho-${name}-`))
  const auth = await loadOrCreateServerAuth(dir, '127.0.0.1:0')
  const api = await createApiServer({...options, auth, logger: pino({level: 'silent'}), register})
  const {port} = await api.listen('127.0.0.1', 0)
  const host = `127.0.0.1:${port}`
  const authFile = join(dir, 'client-auth.yaml')
  await writeFile(authFile, clientAuthText(auth, host), {mode: 0o600})
  return {
    server: api,
    dir,
    auth,
    port,
    host,
    authFile,
    async close() {
      await api.close()
      await rm(dir, {recursive: true, force: true})
    },
  }
}
