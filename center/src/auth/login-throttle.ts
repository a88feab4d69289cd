/**
 * Slows password guessing: after LIMIT failed logins for one username from one address within
 * WINDOW, further attempts from there are refused (429) until the window ends. Kept in memory:
 * each replica counts on its own, which bounds guessing per replica.
 */
const LIMIT = 10
const WINDOW_MS = 15 * 60 * 1000
const MAX_TRACKED = 100_000

export function loginThrottle(limit = LIMIT, windowMs = WINDOW_MS) {
  const failures = new Map<string, { count: number; resetAt: number }>()
  const keyOf = (username: string, address: string) => `${username.toLowerCase()}\n${address}`

  return {
    /** Seconds to wait before trying again, or 0 when a login may be tried now. */
    retryAfter(username: string, address: string, now = Date.now()): number {
      const entry = failures.get(keyOf(username, address))
      if (!entry || entry.resetAt <= now) return 0
      return entry.count >= limit ? Math.ceil((entry.resetAt - now) / 1000) : 0
    },

    failed(username: string, address: string, now = Date.now()): void {
      const key = keyOf(username, address)
      const entry = failures.get(key)
      if (entry && entry.resetAt > now) entry.count++
      else {
        if (failures.size >= MAX_TRACKED) failures.delete(failures.keys().next().value as string)
        failures.set(key, { count: 1, resetAt: now + windowMs })
      }
    },

    succeeded(username: string, address: string): void {
      failures.delete(keyOf(username, address))
    },
  }
}
export type LoginThrottle = ReturnType<typeof loginThrottle>
