import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { PassThrough, Readable, type Writable } from 'node:stream'
import { crc32, createDeflateRaw } from 'node:zlib'

/**
 * A small streaming ZIP writer, for building application packages (examples/build.ts) and the
 * test archives, bad ones included: it writes exactly the names, modes and declared sizes it is
 * given. Entries stream through (data descriptors), so a package of any size is never in memory.
 * No ZIP64: entries and archives stay under 4 GiB.
 */
export interface ZipEntryOptions {
  /** Deflate the data (default true). */
  compress?: boolean
  /** Unix mode with file type bits; 0o120777 makes a symlink. Default: a regular 0o644 file. */
  mode?: number
  /** Record this uncompressed size in the central directory instead of the real one (a lying header). */
  declaredSize?: number
}

interface Written {
  name: Buffer
  offset: number
  crc: number
  compressedSize: number
  size: number
  method: number
  mode: number
}

const DOS_TIME = 0
const DOS_DATE = ((2026 - 1980) << 9) | (1 << 5) | 1

export class ZipWriter {
  private offset = 0
  private readonly entries: Written[] = []

  constructor(private readonly out: Writable) {}

  private async write(chunk: Buffer): Promise<void> {
    this.offset += chunk.length
    if (!this.out.write(chunk)) await once(this.out, 'drain')
  }

  async add(name: string, data: Buffer | string | Readable, options: ZipEntryOptions = {}): Promise<void> {
    const compress = options.compress ?? true
    const method = compress ? 8 : 0
    const nameBytes = Buffer.from(name, 'utf8')
    const offset = this.offset
    const header = Buffer.alloc(30)
    header.writeUInt32LE(0x04034b50, 0)
    header.writeUInt16LE(20, 4)
    header.writeUInt16LE(0x0808, 6) // data descriptor follows, UTF-8 names
    header.writeUInt16LE(method, 8)
    header.writeUInt16LE(DOS_TIME, 10)
    header.writeUInt16LE(DOS_DATE, 12)
    header.writeUInt16LE(nameBytes.length, 26)
    await this.write(Buffer.concat([header, nameBytes]))

    let crc = 0
    let size = 0
    let compressedSize = 0
    const source = typeof data === 'string' || Buffer.isBuffer(data) ? Readable.from([Buffer.from(data)]) : data
    const deflate = compress ? createDeflateRaw({ level: 6 }) : undefined
    const emit = async (chunk: Buffer) => {
      compressedSize += chunk.length
      await this.write(chunk)
    }
    const sink = (async () => {
      if (deflate) for await (const chunk of deflate) await emit(chunk as Buffer)
    })()
    for await (const raw of source) {
      const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as Uint8Array)
      crc = crc32(chunk, crc)
      size += chunk.length
      if (deflate) {
        if (!deflate.write(chunk)) await once(deflate, 'drain')
      } else await emit(chunk)
    }
    deflate?.end()
    await sink

    const descriptor = Buffer.alloc(16)
    descriptor.writeUInt32LE(0x08074b50, 0)
    descriptor.writeUInt32LE(crc >>> 0, 4)
    descriptor.writeUInt32LE(compressedSize, 8)
    descriptor.writeUInt32LE(size, 12)
    await this.write(descriptor)
    const mode = options.mode ?? 0o100644
    this.entries.push({
      name: nameBytes,
      offset,
      crc,
      compressedSize,
      size: options.declaredSize ?? size,
      method,
      mode,
    })
  }

  async finish(): Promise<void> {
    const start = this.offset
    for (const entry of this.entries) {
      const record = Buffer.alloc(46)
      record.writeUInt32LE(0x02014b50, 0)
      record.writeUInt16LE((3 << 8) | 20, 4) // made by Unix, so the mode in the external attributes counts
      record.writeUInt16LE(20, 6)
      record.writeUInt16LE(0x0808, 8)
      record.writeUInt16LE(entry.method, 10)
      record.writeUInt16LE(DOS_TIME, 12)
      record.writeUInt16LE(DOS_DATE, 14)
      record.writeUInt32LE(entry.crc >>> 0, 16)
      record.writeUInt32LE(entry.compressedSize, 20)
      record.writeUInt32LE(entry.size, 24)
      record.writeUInt16LE(entry.name.length, 28)
      record.writeUInt32LE((entry.mode << 16) >>> 0, 38)
      record.writeUInt32LE(entry.offset, 42)
      await this.write(Buffer.concat([record, entry.name]))
    }
    const end = Buffer.alloc(22)
    end.writeUInt32LE(0x06054b50, 0)
    end.writeUInt16LE(this.entries.length, 8)
    end.writeUInt16LE(this.entries.length, 10)
    end.writeUInt32LE(this.offset - start, 12)
    end.writeUInt32LE(start, 16)
    await this.write(end)
    this.out.end()
    await once(this.out, 'finish')
  }
}

export type ZipSpec = [name: string, data: Buffer | string | Readable, options?: ZipEntryOptions][]

/** Writes a ZIP of the given entries to a file. */
export async function writeZip(file: string, entries: ZipSpec): Promise<void> {
  const zip = new ZipWriter(createWriteStream(file))
  for (const [name, data, options] of entries) await zip.add(name, data, options)
  await zip.finish()
}

/** The same, in memory: for small archives such as a nested APPD zip. */
export async function zipBuffer(entries: ZipSpec): Promise<Buffer> {
  const chunks: Buffer[] = []
  const out = new PassThrough()
  out.on('data', (chunk: Buffer) => chunks.push(chunk))
  const zip = new ZipWriter(out)
  for (const [name, data, options] of entries) await zip.add(name, data, options)
  await zip.finish()
  return Buffer.concat(chunks)
}
