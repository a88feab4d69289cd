import { once } from 'node:events'
import { type AddressInfo, connect, createServer, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { type FaultProxy, faultProxy } from './fault-proxy'

const ignore = () => {}
const waitLong = { timeout: 20_000, interval: 50 }

/** An echo server with a proxy in front of it; `upstream` holds the echo server's side of each connection. */
async function setup(seed?: number): Promise<{ proxy: FaultProxy; upstream: Socket[] }> {
  const upstream: Socket[] = []
  const echo = createServer((socket) => {
    upstream.push(socket)
    socket.on('error', ignore).pipe(socket)
  })
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve))
  const proxy = await faultProxy({ host: '127.0.0.1', port: (echo.address() as AddressInfo).port }, { seed })
  onTestFinished(async () => {
    await proxy.close()
    for (const socket of upstream) socket.destroy()
    await new Promise((resolve) => echo.close(resolve))
  })
  return { proxy, upstream }
}

/** A client connected through the proxy, destroyed when the test ends. */
async function open(proxy: FaultProxy): Promise<Socket> {
  const socket = connect(proxy.port, '127.0.0.1').setEncoding('utf8')
  onTestFinished(() => {
    socket.destroy()
  })
  await once(socket, 'connect')
  socket.on('error', ignore)
  return socket
}

/** Resolves once the socket has closed (unlike events.once, an error on the way does not reject). */
function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.closed) resolve()
    else socket.once('close', () => resolve())
  })
}

/** Collects the next `length` characters the socket receives; rejects if it closes first. */
function receive(socket: Socket, length: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = ''
    const onData = (chunk: string) => {
      got += chunk
      if (got.length < length) return
      done()
      resolve(got)
    }
    const onClose = () => {
      done()
      reject(new Error(`closed after ${got.length} of ${length} characters`))
    }
    const done = () => socket.off('data', onData).off('close', onClose)
    socket.on('data', onData).on('close', onClose)
  })
}

/** Writes text and resolves with what came back (as much of it). */
function roundTrip(socket: Socket, text: string): Promise<string> {
  const back = receive(socket, text.length)
  socket.write(text)
  return back
}

/** Everything the socket receives from now on. */
function heard(socket: Socket): string[] {
  const chunks: string[] = []
  socket.on('data', (chunk: string) => chunks.push(chunk))
  return chunks
}

const big = Array.from({ length: 300_000 }, (_, i) => i.toString(36)).join(',')

describe('faultProxy', () => {
  it('forwards bytes both ways, large streams included', async () => {
    const { proxy, upstream } = await setup()
    expect(proxy.url('/x')).toBe(`http://127.0.0.1:${proxy.port}/x`)
    const client = await open(proxy)
    expect(await roundTrip(client, 'hello')).toBe('hello')
    expect(await roundTrip(client, big)).toBe(big)
    expect(proxy.connections()).toBe(1)
    expect(upstream).toHaveLength(1)
    client.end()
    await Promise.all([closed(client), closed(upstream[0] as Socket)])
    await vi.waitFor(() => expect(proxy.connections()).toBe(0), waitLong)
  })

  it('passes a reset on to the other side', async () => {
    const { proxy, upstream } = await setup()
    const client = await open(proxy)
    await roundTrip(client, 'hello')
    client.resetAndDestroy()
    await closed(upstream[0] as Socket)
  })

  it('cut() closes both sides of every connection and still accepts new ones', async () => {
    const { proxy, upstream } = await setup()
    const clients = [await open(proxy), await open(proxy)]
    for (const client of clients) expect(await roundTrip(client, 'hi')).toBe('hi')
    proxy.cut()
    expect(proxy.connections()).toBe(0)
    await Promise.all([...clients, ...upstream].map(closed))
    expect(await roundTrip(await open(proxy), 'again')).toBe('again')
  })

  it('setDelay() slows every round trip and keeps the order of chunks', async () => {
    const { proxy } = await setup()
    const client = await open(proxy)
    await roundTrip(client, 'warm up')
    proxy.setDelay(100)
    const start = performance.now()
    expect(await roundTrip(client, 'ping')).toBe('ping')
    expect(performance.now() - start).toBeGreaterThanOrEqual(100)
    proxy.setDelay(5)
    expect(await roundTrip(client, big)).toBe(big)

    proxy.setDelay(150)
    const back = receive(client, 2)
    client.write('a')
    await sleep(20) // lets the proxy read 'a' before the delay is lifted; nothing to await
    proxy.setDelay(0)
    client.write('b')
    expect(await back).toBe('ab')
  })

  it('blackhole() silently drops bytes both ways and swallows new connections until turned off', async () => {
    const { proxy, upstream } = await setup()
    const before = await open(proxy)
    await roundTrip(before, 'alive')
    proxy.blackhole(true)
    const during = await open(proxy)
    const lost = [heard(before), heard(during)]
    before.write('dropped on the way in')
    during.write('never forwarded')
    upstream[0]?.write('dropped on the way out')
    await sleep(300) // silence cannot be awaited: a short bounded window
    expect(lost).toEqual([[], []])
    expect(upstream).toHaveLength(1)
    expect(proxy.connections()).toBe(2)

    proxy.blackhole(false)
    expect(await roundTrip(await open(proxy), 'after')).toBe('after')
    before.write('still dead')
    during.write('still dead')
    expect(await roundTrip(await open(proxy), 'and again')).toBe('and again')
    expect(lost).toEqual([[], []])
    expect(before.closed || during.closed).toBe(false)
  })

  it('refuse() closes new connections at once', async () => {
    const { proxy, upstream } = await setup()
    proxy.refuse(true)
    const refused = connect(proxy.port, '127.0.0.1').on('error', ignore)
    await closed(refused)
    expect(proxy.connections()).toBe(0)
    expect(upstream).toHaveLength(0)
    proxy.refuse(false)
    expect(await roundTrip(await open(proxy), 'welcome')).toBe('welcome')
  })

  it('chaos() injects and logs seeded faults, and its stop restores a working path', async () => {
    const { proxy } = await setup(7)
    const client = await open(proxy)
    const stop = proxy.chaos({ everyMs: [10, 20], actions: ['cut'] })
    expect(() => proxy.chaos({ everyMs: [10, 20] })).toThrow(/already running/)
    await closed(client)
    await vi.waitFor(() => expect(proxy.events.length).toBeGreaterThanOrEqual(3), waitLong)
    await stop()
    const logged = proxy.events.length
    expect(new Set(proxy.events.map((e) => e.action))).toEqual(new Set(['cut']))
    expect(await roundTrip(await open(proxy), 'calm')).toBe('calm')
    expect(proxy.events).toHaveLength(logged)
  })

  it('chaos() makes the same choices for the same seed and stops in the middle of a fault', async () => {
    const proxies = await Promise.all([setup(42), setup(42)])
    for (const { proxy } of proxies) {
      const stop = proxy.chaos({ everyMs: [1, 5] })
      await vi.waitFor(() => expect(proxy.events.length).toBeGreaterThan(0), waitLong)
      await stop()
      expect(proxy.events[0]?.action).toMatch(/^(cut|delay \d+ms for \d+ms|blackhole for \d+ms)$/)
      expect(await roundTrip(await open(proxy), 'restored')).toBe('restored')
    }
    const [first, second] = proxies.map(({ proxy }) => proxy.events[0]?.action)
    expect(first).toBe(second)
  })

  it('close() closes every connection and the server', async () => {
    const { proxy, upstream } = await setup()
    const clients = [await open(proxy), await open(proxy)]
    for (const client of clients) await roundTrip(client, 'bye')
    await proxy.close()
    await Promise.all([...clients, ...upstream].map(closed))
    expect(proxy.connections()).toBe(0)
    await expect(once(connect(proxy.port, '127.0.0.1'), 'connect')).rejects.toThrow(/ECONNREFUSED/)
  })
})
