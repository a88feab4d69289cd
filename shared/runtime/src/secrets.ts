import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

/**
 * Secrets at rest (repository passwords, AK/SK secrets, later kubeconfigs and cloud credentials):
 * AES-256-GCM under a key derived from the center's master key. A sealed value reads
 * `v1.<iv>.<tag>.<ciphertext>` in base64url; a changed byte or a wrong key fails to open.
 */
export interface Sealer {
  seal(plaintext: string): string
  open(sealed: string): string
}

/** Whether a value reads as a sealed secret (`v1.<iv>.<tag>.<ciphertext>`). */
export const isSealed = (value: string) => /^v1\.[\w-]+\.[\w-]+\.[\w-]*$/.test(value)

/** How a bearer token (a session, an enrollment or an app token) is kept: its SHA-256, never the token. */
export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex')

/** A purpose-bound 32-byte key from the master key, so no two uses share a key. */
export function deriveKey(masterKey: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `mecm ${purpose}`, 32))
}

export function sealer(masterKey: Buffer): Sealer {
  const key = deriveKey(masterKey, 'secrets at rest')
  return {
    seal(plaintext) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
      return ['v1', iv, cipher.getAuthTag(), body]
        .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
        .join('.')
    },
    open(sealed) {
      const [version, iv, tag, body] = sealed.split('.')
      if (version !== 'v1' || iv === undefined || tag === undefined || body === undefined) {
        throw new Error('not a sealed secret')
      }
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
      decipher.setAuthTag(Buffer.from(tag, 'base64url'))
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8')
    },
  }
}

/** The 32-byte key kept in `file` (base64), made owner-only on first use; `created` says it was new. */
export function keyFile(file: string): { key: Buffer; created: boolean } {
  try {
    return { key: Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'), created: false }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  mkdirSync(dirname(file), { recursive: true })
  const key = randomBytes(32)
  writeFileSync(file, key.toString('base64'), { mode: 0o600, flag: 'wx' })
  return { key, created: true }
}
