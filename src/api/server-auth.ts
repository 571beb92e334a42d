/**
 * The server's identity: a self-signed certificate, its private key and the API token, kept in
 * `<stateDir>/launcho-server-auth.yaml` (mode 0600). Created on first start, reused afterwards,
 * so clients that pinned the certificate keep working across restarts.
 */
import {X509Certificate, createPrivateKey} from 'node:crypto'
import {chmod, stat} from 'node:fs/promises'
import {join} from 'node:path'
import type {Logger} from 'pino'
import {LaunchoError} from '../errors.js'
import {ensurePrivateDir, readFileIfExists, writeFileAtomic} from '../store/atomic.js'
import {type AuthFile, normalizePem, parseAuthFile, renderAuthFile} from './auth-file.js'
import {generateToken} from './token.js'

export const SERVER_AUTH_FILE = 'launcho-server-auth.yaml'
export const CLIENT_AUTH_HEADER = 'Paste this into ~/.launcho/launcho-client-auth.yaml on the client machine'

const CERT_VALIDITY_DAYS = 3650

export interface ServerAuth {
  /** Where the file lives, for messages. */
  path: string
  /** `HOST:PORT` recorded when the file was created; print-auth may override it. */
  host: string
  cert: string
  key: string
  token: string
  /** SHA-256 fingerprint of the certificate, colon-separated hex (safe to log). */
  fingerprint: string
}

export async function loadOrCreateServerAuth(stateDir: string, host: string, options: {logger?: Logger} = {}): Promise<ServerAuth> {
  const path = join(stateDir, SERVER_AUTH_FILE)
  const text = await readFileIfExists(path)
  if (text !== undefined) {
    await tightenMode(path, options.logger)
    return fromFile(parseAuthFile(text, path), path)
  }

  await ensureStateDir(stateDir)
  const {cert, key} = await generateCertificate()
  const file: AuthFile = {host, cert, private: key, token: generateToken()}
  await writeFileAtomic(path, renderAuthFile(file, 'launcho server identity: keep this file secret (mode 0600)'), 0o600)
  const auth = fromFile(file, path)
  options.logger?.warn({path, fingerprint: auth.fingerprint}, 'no server auth file found; generated a new certificate and token')
  return auth
}

/** The client auth file `launcho print-auth` prints: the server's cert and token, no private key. */
export function clientAuthText(serverAuth: ServerAuth, host: string = serverAuth.host): string {
  return renderAuthFile({host, cert: serverAuth.cert, private: null, token: serverAuth.token}, CLIENT_AUTH_HEADER)
}

function fromFile(file: AuthFile, path: string): ServerAuth {
  if (file.private === null) {
    throw new LaunchoError('invalid_request', `invalid auth file ${path}: private: the server needs its private key, found null`, {
      problems: [{field: 'private', message: 'the server needs its private key, found null'}],
      hint: `this looks like a client auth file; move it away and restart the server to generate a new identity (clients must then re-run print-auth)`,
    })
  }
  const x509 = new X509Certificate(file.cert)
  if (!x509.checkPrivateKey(createPrivateKey(file.private))) {
    throw new LaunchoError('invalid_request', `invalid auth file ${path}: private: the key does not belong to the certificate`, {
      problems: [{field: 'private', message: 'the key does not belong to the certificate'}],
      hint: `restore the file from a backup, or move it away and restart the server to generate a new identity`,
    })
  }
  return {path, host: file.host, cert: file.cert, key: file.private, token: file.token, fingerprint: x509.fingerprint256}
}

async function generateCertificate(): Promise<{cert: string; key: string}> {
  // Imported here: its ~200 modules (an ASN.1 and X.509 stack) are needed once, on a server's first start.
  const {generate} = await import('selfsigned')
  const notBeforeDate = new Date(Date.now() - 60 * 60 * 1000) // an hour of slack for clock skew
  const notAfterDate = new Date(Date.now() + CERT_VALIDITY_DAYS * 24 * 60 * 60 * 1000)
  const pems = await generate([{name: 'commonName', value: 'launcho'}], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      {name: 'basicConstraints', cA: false, critical: true},
      {name: 'keyUsage', digitalSignature: true, critical: true},
      {name: 'extKeyUsage', serverAuth: true},
      {
        name: 'subjectAltName',
        altNames: [
          {type: 2, value: 'launcho'},
          {type: 2, value: 'localhost'},
          {type: 7, ip: '127.0.0.1'},
        ],
      },
    ],
  })
  return {cert: normalizePem(pems.cert), key: normalizePem(pems.private)}
}

async function ensureStateDir(stateDir: string): Promise<void> {
  // Only create it; an existing state dir keeps whatever mode the operator gave it.
  const exists = await stat(stateDir).then(
    () => true,
    () => false,
  )
  if (!exists) await ensurePrivateDir(stateDir)
}

/** The original wrote keys with default permissions; fix such a file rather than refuse it. */
async function tightenMode(path: string, logger?: Logger): Promise<void> {
  const {mode} = await stat(path)
  if ((mode & 0o077) === 0) return
  try {
    await chmod(path, 0o600)
    logger?.warn({path, was: (mode & 0o777).toString(8)}, 'server auth file was readable by others; changed its mode to 0600')
  } catch (error) {
    throw new LaunchoError('storage_failed', `could not restrict ${path} to mode 0600: ${(error as Error).message}`, {
      hint: `run launcho as the owner of ${path}, or "chmod 600" it yourself`,
      cause: error,
    })
  }
}
