/** Small helpers every store module uses to write and read rows. */
import { randomUUID } from 'node:crypto'
import { badRequest } from '@mecm/runtime'

export const newId = (): string => randomUUID()
export const now = (): string => new Date().toISOString()

export function json(value: unknown): string {
  return JSON.stringify(value)
}

export function parsed<T>(text: string): T {
  return JSON.parse(text) as T
}

/** A page of a keyset-paginated list; `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

export const encodeCursor = (key: string): string => Buffer.from(key, 'utf8').toString('base64url')
export function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8')
  // a cursor is one this center made: printable text that encodes back to itself
  if (encodeCursor(key) !== cursor || [...key].some((char) => char.charCodeAt(0) < 0x20)) {
    throw badRequest('cursor: not a cursor this list gave out; pass nextCursor from the previous page')
  }
  return key
}

/** Fetch limit + 1 rows; the extra one only tells whether another page exists. */
export function pageOf<R, T>(rows: R[], limit: number, key: (row: R) => string, map: (row: R) => T): Page<T> {
  const items = rows.slice(0, limit)
  const last = items.at(-1)
  return {
    items: items.map(map),
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(key(last)) : null,
  }
}
