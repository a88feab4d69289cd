import type { Readable } from 'node:stream'
import yauzl, { type Entry, type ZipFile } from 'yauzl'
import { PackageError } from './package-error'

/** How much an archive may hold; every limit is checked on the central directory before anything is read. */
export interface ArchiveLimits {
  maxEntries: number
  maxEntryBytes: number
  maxTotalBytes: number
  /** Uncompressed over compressed size beyond which an entry (over 1 MiB) is taken for a zip bomb. */
  maxRatio: number
}

export const defaultLimits: ArchiveLimits = {
  maxEntries: 10_000,
  maxEntryBytes: 4 * 1024 ** 3,
  maxTotalBytes: 8 * 1024 ** 3,
  maxRatio: 200,
}

const S_IFMT = 0o170000
const S_IFREG = 0o100000
const S_IFDIR = 0o040000

function fileType(entry: Entry): number {
  const madeByUnix = entry.versionMadeBy >> 8 === 3
  return madeByUnix ? (entry.externalFileAttributes >>> 16) & S_IFMT : 0
}

/** An opened archive whose every entry passed the safety checks; names are relative to the package root. */
export interface Archive {
  readonly names: readonly string[]
  size(name: string): number | undefined
  stream(name: string): Promise<Readable>
  read(name: string, maxBytes?: number): Promise<Buffer>
  close(): void
}

function checkName(name: string): void {
  if (name.includes('\0') || name.includes('\\') || /^[A-Za-z]:/.test(name) || name.startsWith('/')) {
    throw new PackageError(`unsafe entry name "${name}": absolute paths, drive letters and backslashes are refused`)
  }
  const parts = name.replace(/\/$/, '').split('/')
  if (parts.some((part) => part === '..')) {
    throw new PackageError(`unsafe entry name "${name}": it escapes the package root`)
  }
  if (parts.some((part) => part === '' || part === '.')) {
    throw new PackageError(`entry name "${name}" is not canonical: empty or "." path segments are refused`)
  }
}

function check(entries: Entry[], limits: ArchiveLimits): void {
  const seen = new Set<string>()
  let total = 0
  for (const entry of entries) {
    const name = entry.fileName
    checkName(name)
    const type = fileType(entry)
    if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) {
      throw new PackageError(`entry "${name}" is a symbolic link or special file; packages hold regular files only`)
    }
    if (entry.isEncrypted()) throw new PackageError(`entry "${name}" is encrypted`)
    if (!entry.canDecodeFileData()) throw new PackageError(`entry "${name}" uses an unsupported compression method`)
    const key = name.replace(/\/$/, '').toLowerCase()
    if (seen.has(key)) throw new PackageError(`duplicate entry "${name}" (names differing only in case count as one)`)
    seen.add(key)
    if (entry.uncompressedSize > limits.maxEntryBytes) {
      throw new PackageError(
        `entry "${name}" is ${entry.uncompressedSize} bytes, over the ${limits.maxEntryBytes}-byte limit`,
      )
    }
    total += entry.uncompressedSize
    if (total > limits.maxTotalBytes) {
      throw new PackageError(`the package unpacks to more than ${limits.maxTotalBytes} bytes`)
    }
    const ratio = entry.uncompressedSize / Math.max(entry.compressedSize, 1)
    if (entry.uncompressedSize > 1024 * 1024 && ratio > limits.maxRatio) {
      throw new PackageError(`entry "${name}" expands ${Math.round(ratio)}-fold: refused as a zip bomb`)
    }
  }
}

/** Names relative to the package root: a single top-level directory holding everything is stripped. */
function rootOf(names: string[]): string {
  const tops = new Set(names.map((name) => name.split('/')[0]))
  const [top] = tops
  return tops.size === 1 && names.every((name) => name.includes('/')) ? `${top}/` : ''
}

function readEntries(zip: ZipFile): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: Entry[] = []
    zip.on('entry', (entry: Entry) => {
      entries.push(entry)
      zip.readEntry()
    })
    zip.on('end', () => resolve(entries))
    zip.on('error', reject)
    zip.readEntry()
  })
}

export function malformed(error: unknown): PackageError {
  const message = (error as Error).message ?? String(error)
  if (/relative path|absolute path|invalid characters/.test(message)) {
    return new PackageError(`unsafe entry name: ${message}`)
  }
  return new PackageError(`not a valid zip archive: ${message}`)
}

/** Opens a package file or buffer, refusing it whole when any entry is unsafe or any limit is passed. */
export async function openArchive(source: string | Buffer, limits: ArchiveLimits = defaultLimits): Promise<Archive> {
  const options = { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: true }
  let zip: ZipFile
  try {
    zip =
      typeof source === 'string'
        ? await yauzl.openPromise(source, options)
        : await yauzl.fromBufferPromise(source, options)
  } catch (error) {
    throw malformed(error)
  }
  try {
    if (zip.entryCount > limits.maxEntries) {
      throw new PackageError(`the package has ${zip.entryCount} entries, over the limit of ${limits.maxEntries}`)
    }
    const entries = await readEntries(zip).catch((error) => {
      throw error instanceof PackageError ? error : malformed(error)
    })
    check(entries, limits)
    const files = entries.filter((entry) => !entry.fileName.endsWith('/'))
    const root = rootOf(files.map((entry) => entry.fileName))
    const byName = new Map(files.map((entry) => [entry.fileName.slice(root.length), entry]))

    const stream = async (name: string): Promise<Readable> => {
      const entry = byName.get(name)
      if (!entry) throw new PackageError(`the package has no file "${name}"`)
      try {
        return await zip.openReadStreamPromise(entry)
      } catch (error) {
        throw malformed(error)
      }
    }

    return {
      names: [...byName.keys()],
      size: (name) => byName.get(name)?.uncompressedSize,
      stream,
      async read(name, maxBytes = 64 * 1024 * 1024) {
        const size = byName.get(name)?.uncompressedSize ?? 0
        if (size > maxBytes)
          throw new PackageError(`"${name}" is ${size} bytes; at most ${maxBytes} are read into memory`)
        const chunks: Buffer[] = []
        try {
          for await (const chunk of await stream(name)) chunks.push(chunk as Buffer)
        } catch (error) {
          throw error instanceof PackageError ? error : malformed(error)
        }
        return Buffer.concat(chunks)
      },
      close: () => zip.close(),
    }
  } catch (error) {
    zip.close()
    throw error
  }
}
