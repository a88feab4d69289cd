import { z } from 'zod'
import { Frame, PROTOCOL_VERSIONS } from './frames'

export type Decoded = { ok: true; frame: Frame } | { ok: false; message: string }

/** Reads one frame. Never throws: a bad frame yields a message fit for an error frame and a log line. */
export function decodeFrame(text: string): Decoded {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { ok: false, message: 'frame is not JSON' }
  }
  const parsed = Frame.safeParse(json)
  if (!parsed.success) return { ok: false, message: `invalid frame: ${z.prettifyError(parsed.error)}` }
  return { ok: true, frame: parsed.data }
}

export function encodeFrame(frame: Frame): string {
  return JSON.stringify(Frame.parse(frame))
}

/** The highest version both sides speak, or null when there is none. */
export function negotiateVersion(
  offered: readonly number[],
  supported: readonly number[] = PROTOCOL_VERSIONS,
): number | null {
  const common = offered.filter((version) => supported.includes(version))
  return common.length ? Math.max(...common) : null
}
