/**
 * This server's id: 16 hex digits derived from its state dir's version key, so it stays the same
 * across restarts, upgrades and a restored backup (as long as version-key is kept) and tells
 * nothing of the key. Every unit the server starts carries it as the journal field LAUNCHO_SERVER
 * (`systemctl show -p LogExtraFields`); the owner of dev.launcho.Server tells it with its state dir.
 */
import {createHmac} from 'node:crypto'

export function serverIdOf(versionKey: Buffer): string {
  return createHmac('sha256', versionKey).update('launcho server id').digest('hex').slice(0, 16)
}
