import { type InstantiationParameters, MASKED } from '@mecm/protocol'
import type { Sealer } from '@mecm/runtime'

const SEALED = 'sealed:'

/**
 * An instance's secret key (the parameter `sk`) as the center keeps it: sealed in its records, its
 * operations and the edge's command queue; `openSecret` opens it only to go on the wire to the edge.
 * Sealing twice, or a masked value, changes nothing.
 */
export function sealSecret(parameters: InstantiationParameters, sealer: Sealer): InstantiationParameters {
  const { sk } = parameters
  if (sk === undefined || sk === MASKED || sk.startsWith(SEALED)) return parameters
  return { ...parameters, sk: SEALED + sealer.seal(sk) }
}

export function openSecret(parameters: InstantiationParameters, sealer: Sealer): InstantiationParameters {
  const { sk } = parameters
  if (!sk?.startsWith(SEALED)) return parameters
  return { ...parameters, sk: sealer.open(sk.slice(SEALED.length)) }
}
