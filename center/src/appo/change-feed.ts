/**
 * Wakes the steps that wait for an edge when edges report something (in this process), with a
 * poll as the fallback for edges connected to another replica.
 */
export function changeFeed(pollMs: number) {
  const waiters = new Set<() => void>()
  return {
    notify(): void {
      for (const wake of [...waiters]) wake()
    },
    /** Resolves at the next notify, after `pollMs`, or when `signal` aborts, whichever comes first. */
    next(signal?: AbortSignal): Promise<void> {
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer)
          waiters.delete(done)
          signal?.removeEventListener('abort', done)
          resolve()
        }
        const timer = setTimeout(done, pollMs)
        waiters.add(done)
        signal?.addEventListener('abort', done, { once: true })
      })
    },
  }
}
export type ChangeFeed = ReturnType<typeof changeFeed>
