import { randomBytes } from 'node:crypto'
import { hashToken } from '@mecm/runtime'
import type { Store } from '../db/store'

export interface Enrollment {
  token: string
  expiresAt: string
  /** What to run on the edge host. */
  command: string
}

/** Issues a host's one-time enrollment token (replacing a pending one); only its hash is kept. */
export async function issueEnrollment(store: Store, hostId: string, ttlSeconds: number, centerUrl: string) {
  const token = randomBytes(32).toString('base64url')
  const expiresAt = new Date(Date.now() + ttlSeconds * 1000).toISOString()
  await store.edges.issueEnrollment(hostId, hashToken(token), expiresAt)
  return { token, expiresAt, command: `mepm enroll --center ${centerUrl} --token ${token}` } satisfies Enrollment
}
