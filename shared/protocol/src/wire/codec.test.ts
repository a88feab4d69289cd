import { describe, expect, it } from 'vitest'
import { examples } from '../examples'
import { decodeFrame, encodeFrame, negotiateVersion } from './codec'
import { type Frame, PROTOCOL_VERSIONS } from './frames'

describe('decodeFrame', () => {
  it.each(Object.entries(examples.frames))('reads a %s frame back as it was written', (_, frame) => {
    const decoded = decodeFrame(encodeFrame(frame as Frame))
    expect(decoded.ok).toBe(true)
    expect(decoded.ok && decoded.frame.type).toBe(frame.type)
  })

  it('fills defaults, so a receiver sees every field', () => {
    const decoded = decodeFrame(JSON.stringify({ v: 1, type: 'error', code: 'INTERNAL', message: 'boom' }))
    expect(decoded).toEqual({
      ok: true,
      frame: { v: 1, type: 'error', code: 'INTERNAL', message: 'boom', fatal: false },
    })
  })

  it('says a non-JSON frame is not JSON, without throwing', () => {
    expect(decodeFrame('{"v":1,')).toEqual({ ok: false, message: 'frame is not JSON' })
  })

  it('names the field that made a frame invalid', () => {
    const decoded = decodeFrame(JSON.stringify({ ...examples.frames.ack, seq: -1 }))
    expect(decoded.ok).toBe(false)
    expect(!decoded.ok && decoded.message).toMatch(/invalid frame:.*seq/s)
  })

  it('refuses an unknown frame type', () => {
    const decoded = decodeFrame(JSON.stringify({ v: 1, type: 'shell', command: 'rm -rf /' }))
    expect(decoded.ok).toBe(false)
  })
})

describe('encodeFrame', () => {
  it('refuses to send an invalid frame', () => {
    expect(() => encodeFrame({ ...examples.frames.ack, seq: -1 } as Frame)).toThrow()
  })
})

describe('negotiateVersion', () => {
  it('picks the highest version both sides speak', () => {
    expect(negotiateVersion([1, 2, 3], [1, 2])).toBe(2)
    expect(negotiateVersion([1], PROTOCOL_VERSIONS)).toBe(1)
  })

  it('returns null when the sides share no version', () => {
    expect(negotiateVersion([7, 8], [1, 2])).toBeNull()
    expect(negotiateVersion([], [1])).toBeNull()
  })
})
