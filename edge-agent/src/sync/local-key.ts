import { join } from 'node:path'
import { keyFile, type Sealer, sealer } from '@mecm/runtime'

/** Seals the agent's secrets at rest with its own key, <data-dir>/agent.key (owner-only, made on first use). */
export function localSealer(dataDir: string): Sealer {
  return sealer(keyFile(join(dataDir, 'agent.key')).key)
}
