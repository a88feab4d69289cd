import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Sealer, sealer } from '@mecm/runtime'

/** Seals the agent's secrets at rest with its own key, <data-dir>/agent.key (owner-only, made on first use). */
export function localSealer(dataDir: string): Sealer {
  const file = join(dataDir, 'agent.key')
  let key: Buffer
  try {
    key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    mkdirSync(dataDir, { recursive: true })
    key = randomBytes(32)
    writeFileSync(file, key.toString('base64'), { mode: 0o600, flag: 'wx' })
  }
  return sealer(key)
}
