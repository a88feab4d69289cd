import { setTimeout as delay } from 'node:timers/promises'

/** How long to wait for a backend to get somewhere, and how often to look. */
export interface Wait {
  timeoutMs: number
  pollMs: number
}

/** A wait's length for people: 300 ms, 20 s. */
export const duration = (ms: number) => (ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`)

/**
 * Looks every `pollMs` until `done` holds for what `look` saw, and gives that back; once
 * `timeoutMs` has passed, throws the error `late` makes of the last look and the time waited.
 */
export async function waitUntil<Seen>(
  wait: Wait,
  look: () => Promise<Seen>,
  done: (seen: Seen) => boolean,
  late: (seen: Seen, waited: string) => Error,
): Promise<Seen> {
  const deadline = Date.now() + wait.timeoutMs
  for (;;) {
    const seen = await look()
    if (done(seen)) return seen
    if (Date.now() >= deadline) throw late(seen, duration(wait.timeoutMs))
    await delay(wait.pollMs)
  }
}
