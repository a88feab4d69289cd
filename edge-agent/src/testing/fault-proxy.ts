import { once } from 'node:events'
import { type AddressInfo, createConnection, createServer, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** A fault the chaos loop can inject. */
export type FaultAction = 'cut' | 'delay' | 'blackhole'

/** How often chaos strikes (a random pause between the two bounds, in ms) and with what. */
export interface ChaosOptions {
  everyMs: [number, number]
  /** Defaults to all of them. */
  actions?: FaultAction[]
}

/** A TCP proxy on 127.0.0.1 that can cut, slow down, blackhole or refuse the connections it forwards. */
export interface FaultProxy {
  /** The port the proxy listens on. */
  readonly port: number
  /** `http://127.0.0.1:<port><path>`. */
  url(path?: string): string
  /** Destroys every open connection, on both sides, now. New connections are still accepted. */
  cut(): void
  /** Delays every chunk by `ms` in both directions, keeping their order (0 turns it off). */
  setDelay(ms: number): void
  /**
   * While on, drops every byte in both directions and accepts new connections without forwarding them.
   * Connections blackholed stay dead, though open, after it is turned off.
   */
  blackhole(on: boolean): void
  /** While on, closes new connections as soon as they are accepted. */
  refuse(on: boolean): void
  /** Starts injecting random faults. The returned function stops, restores a clean path and resolves when done. */
  chaos(options: ChaosOptions): () => Promise<void>
  /** What chaos did, in order (`at` is a Date.now() timestamp). */
  readonly events: Array<{ at: number; action: string }>
  /** How many client connections are open. */
  connections(): number
  /** Stops chaos, destroys every connection and closes the server. */
  close(): Promise<void>
}

interface Pair {
  client: Socket
  upstream?: Socket
  /** Blackholed: nothing is forwarded any more, in either direction. */
  dead: boolean
}

const ignore = () => {}

/** mulberry32: a small seeded PRNG returning numbers in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), a | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Starts a fault-injecting proxy to `target`; `seed` (default 1) drives the chaos loop's choices. */
export async function faultProxy(
  target: { host: string; port: number },
  options: { seed?: number } = {},
): Promise<FaultProxy> {
  const random = mulberry32(options.seed ?? 1)
  const pairs = new Set<Pair>()
  const events: FaultProxy['events'] = []
  let delay = 0
  let blackholed = false
  let refusing = false
  let stopChaos: (() => Promise<void>) | undefined

  /** Forwards `from` to `to` in order, after the delay in force when each chunk arrived, and `from`'s end too. */
  function forward(from: Socket, to: Socket, pair: Pair): void {
    const queue: Array<{ due: number; chunk: Buffer | null }> = []
    let timer: NodeJS.Timeout | undefined
    const send = (chunk: Buffer | null) => {
      if (pair.dead || to.destroyed) return
      if (chunk === null) to.end()
      else if (!to.write(chunk) && !from.isPaused()) {
        from.pause()
        to.once('drain', () => from.resume())
      }
    }
    const pump = () => {
      for (let head = queue[0]; head; head = queue[0]) {
        const wait = head.due - performance.now()
        if (wait > 0) {
          timer = setTimeout(pump, wait)
          return
        }
        queue.shift()
        send(head.chunk)
      }
      timer = undefined
    }
    const push = (chunk: Buffer | null) => {
      if (delay === 0 && queue.length === 0) send(chunk)
      else {
        queue.push({ due: performance.now() + delay, chunk })
        timer ??= setTimeout(pump, delay)
      }
    }
    from.on('data', push)
    from.on('end', () => push(null))
    from.on('close', (hadError) => {
      if (hadError && !pair.dead) to.destroy()
    })
    to.on('close', () => clearTimeout(timer))
  }

  const server = createServer({ allowHalfOpen: true }, (client) => {
    client.on('error', ignore)
    if (refusing) {
      client.destroy()
      return
    }
    const pair: Pair = { client, dead: blackholed }
    pairs.add(pair)
    const release = () => {
      if (client.destroyed && (pair.upstream?.destroyed ?? true)) pairs.delete(pair)
    }
    client.on('close', release)
    if (pair.dead) {
      client.resume()
      return
    }
    const upstream = createConnection({ ...target, allowHalfOpen: true })
    pair.upstream = upstream
    upstream.on('error', ignore).on('close', release)
    client.setNoDelay(true)
    upstream.setNoDelay(true)
    forward(client, upstream, pair)
    forward(upstream, client, pair)
  })
  await once(server.listen(0, '127.0.0.1'), 'listening')
  server.on('error', ignore)
  const { port } = server.address() as AddressInfo

  function cut(): void {
    for (const { client, upstream } of pairs) {
      client.destroy()
      upstream?.destroy()
    }
    pairs.clear()
  }
  function setDelay(ms: number): void {
    delay = ms
  }
  function blackhole(on: boolean): void {
    blackholed = on
    if (!on) return
    for (const pair of pairs) {
      pair.dead = true
      pair.client.resume()
      pair.upstream?.resume()
    }
  }

  function chaos({ everyMs: [min, max], actions = ['cut', 'delay', 'blackhole'] }: ChaosOptions) {
    if (stopChaos) throw new Error('chaos is already running')
    const abort = new AbortController()
    const pause = (ms: number) =>
      sleep(ms, undefined, { signal: abort.signal }).then(
        () => true,
        () => false,
      )
    const between = (low: number, high: number) => Math.round(low + random() * (high - low))
    const log = (action: string) => events.push({ at: Date.now(), action })
    const loop = (async () => {
      while (await pause(between(min, max))) {
        const action = actions[Math.floor(random() * actions.length)]
        if (action === 'cut') {
          log('cut')
          cut()
        } else if (action === 'delay') {
          const ms = between(0, 200)
          const period = between(200, 2000)
          log(`delay ${ms}ms for ${period}ms`)
          setDelay(ms)
          await pause(period)
          setDelay(0)
        } else if (action === 'blackhole') {
          const period = between(500, 3000)
          log(`blackhole for ${period}ms`)
          blackhole(true)
          await pause(period)
          blackhole(false)
        }
      }
    })()
    const stop = async () => {
      abort.abort()
      await loop
      setDelay(0)
      blackhole(false)
      if (stopChaos === stop) stopChaos = undefined
    }
    stopChaos = stop
    return stop
  }

  return {
    port,
    url: (path = '') => `http://127.0.0.1:${port}${path}`,
    cut,
    setDelay,
    blackhole,
    refuse: (on) => {
      refusing = on
    },
    chaos,
    events,
    connections: () => [...pairs].filter((pair) => !pair.client.destroyed).length,
    close: async () => {
      await stopChaos?.()
      cut()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
