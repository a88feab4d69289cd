import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { EDGE_SIGNING_SCHEME, EdgeIdentity, edgeSigningString } from '@mecm/protocol'
import { z } from 'zod'

/** What this edge keeps of its enrollment, owner-only in <data-dir>/identity.json. */
const StoredIdentity = EdgeIdentity.extend({
  centerUrl: z.url(),
  /** PKCS#8 PEM: never leaves this file. */
  privateKey: z.string().min(1),
  publicKey: z.string().min(1),
})
export type StoredIdentity = z.infer<typeof StoredIdentity>

const fileOf = (dataDir: string) => join(dataDir, 'identity.json')

function newKeyPair() {
  const pair = generateKeyPairSync('ed25519')
  return {
    privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: pair.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  }
}

/** Written whole or not at all, readable by the agent's user only. */
function save(dataDir: string, identity: StoredIdentity, name = 'identity.json'): void {
  mkdirSync(dataDir, { recursive: true })
  const file = join(dataDir, name)
  writeFileSync(`${file}.tmp`, JSON.stringify(identity, null, 2), { mode: 0o600 })
  renameSync(`${file}.tmp`, file)
}

export function loadIdentity(dataDir: string): StoredIdentity | undefined {
  let text: string
  try {
    text = readFileSync(fileOf(dataDir), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  const parsed = StoredIdentity.safeParse(JSON.parse(text))
  if (!parsed.success) throw new Error(`${fileOf(dataDir)} is damaged: enroll this edge again`)
  return parsed.data
}

/** The Authorization header for one request (and its body), signed with the edge's key. */
export function signedHeader(identity: StoredIdentity, method: string, pathWithQuery: string, body = ''): string {
  const date = new Date().toISOString()
  const nonce = randomBytes(16).toString('base64url')
  const bodySha256 = createHash('sha256').update(body).digest('hex')
  const signed = edgeSigningString({ method, pathWithQuery, date, nonce, bodySha256 })
  const signature = sign(null, Buffer.from(signed), identity.privateKey)
  return `${EDGE_SIGNING_SCHEME} Host=${identity.hostId}, Date=${date}, Nonce=${nonce}, Signature=${signature.toString('base64')}`
}

/** What a problem response (RFC 9457) says went wrong: its detail, or the text itself. */
export function problemDetail(text: string): string {
  try {
    return (JSON.parse(text) as { detail?: string }).detail ?? text
  } catch {
    return text
  }
}

async function problemOf(response: Response): Promise<string> {
  return problemDetail(await response.text()) || response.statusText
}

/** Spends a one-time token at the center for this edge's identity; the key pair is made here. */
export async function enroll(options: {
  dataDir: string
  centerUrl: string
  token: string
  agentVersion: string
}): Promise<StoredIdentity> {
  const keys = newKeyPair()
  const centerUrl = new URL(options.centerUrl).origin
  const response = await fetch(`${centerUrl}/edge/v1/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: options.token, publicKey: keys.publicKey, agentVersion: options.agentVersion }),
  })
  if (response.status !== 201) {
    throw new Error(`the center refused the enrollment (${response.status}): ${await problemOf(response)}`)
  }
  const edge = EdgeIdentity.parse(await response.json())
  const identity = { ...edge, centerUrl, ...keys }
  save(options.dataDir, identity)
  return identity
}

/**
 * Replaces the key: the center learns the new public key from a request signed with the old one.
 * The new key is on disk (identity.next.json) before the center hears of it, so a crash or a lost
 * answer leaves a key the center may know: the client tries it when the old one is refused, and
 * keeps it only if the center takes it.
 */
export async function rotateKey(dataDir: string): Promise<StoredIdentity> {
  const identity = loadIdentity(dataDir)
  if (!identity) throw new Error('this edge is not enrolled: run mepm enroll first')
  const rotated = { ...identity, ...newKeyPair() }
  save(dataDir, rotated, 'identity.next.json')
  const path = '/edge/v1/identity/rotate'
  const body = JSON.stringify({ publicKey: rotated.publicKey })
  const response = await fetch(`${identity.centerUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: signedHeader(identity, 'POST', path, body) },
    body,
  })
  if (response.status !== 200) {
    // the center said no: it does not have the new key (a 5xx from a proxy says nothing of the kind)
    if (response.status >= 400 && response.status < 500) settlePendingKey(dataDir, false)
    throw new Error(`the center refused the key rotation (${response.status}): ${await problemOf(response)}`)
  }
  settlePendingKey(dataDir, true)
  return rotated
}

/** The key of a rotation whose outcome is unknown (the center may or may not have it), if any. */
export function pendingKey(dataDir: string): StoredIdentity | undefined {
  const next = join(dataDir, 'identity.next.json')
  if (!existsSync(next)) return undefined
  const parsed = StoredIdentity.safeParse(JSON.parse(readFileSync(next, 'utf8')))
  return parsed.success ? parsed.data : undefined
}

/** The pending key worked (it becomes the key), or it did not (it is dropped). */
export function settlePendingKey(dataDir: string, worked: boolean): void {
  const next = join(dataDir, 'identity.next.json')
  if (worked) renameSync(next, fileOf(dataDir))
  else rmSync(next, { force: true })
}
