import { randomUUID } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { dirname, join, resolve, sep } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { type ArchiveLimits, defaultLimits, openArchive } from './archive'
import { PackageError } from './package-error'

/**
 * Unpacks a package that passed readPackage into `dest`: entry by entry into a temporary
 * folder beside it, then renamed into place, so `dest` is whole or absent. An existing `dest`
 * is kept (content-addressed: same digest, same content). Names were checked by openArchive;
 * each path is checked again against the folder before anything is written.
 */
export async function unpackPackage(file: string, dest: string, limits: ArchiveLimits = defaultLimits): Promise<void> {
  if (
    await stat(dest).then(
      () => true,
      () => false,
    )
  )
    return
  const partial = join(dirname(dest), `.unpacking-${randomUUID()}`)
  const archive = await openArchive(file, limits)
  try {
    for (const name of archive.names) {
      const target = resolve(partial, name)
      if (!target.startsWith(partial + sep))
        throw new PackageError(`entry "${name}" would land outside the package folder`)
      await mkdir(dirname(target), { recursive: true })
      await pipeline(await archive.stream(name), createWriteStream(target, { flags: 'wx', mode: 0o644 }))
    }
    await rename(partial, dest)
  } catch (error) {
    await rm(partial, { recursive: true, force: true })
    // another unpack of the same content finished first
    if ((error as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (error as NodeJS.ErrnoException).code === 'EEXIST')
      return
    throw error
  } finally {
    archive.close()
  }
}
