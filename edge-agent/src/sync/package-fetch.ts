import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { PackageRef } from '@mecm/protocol'
import type { Logger } from '@mecm/runtime'
import type { PackageManager } from '../packages/package-manager'
import type { AgentStore } from '../store/store'
import { loadIdentity, signedHeader } from './identity'

/** A download that cannot succeed by trying again (the content is wrong, or not there). */
class FinalError extends Error {}

async function sizeOf(file: string): Promise<number> {
  return (await stat(file).catch(() => undefined))?.size ?? 0
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/**
 * Fetches the packages the center sent here, by digest, over the edge's signed HTTP: a partial
 * download resumes with a Range request where it stopped; the whole is checked against the
 * digest and then read like any package (manifest, signature) before it is recorded.
 * Progress goes to the center as package.status events.
 */
export function packageFetcher(options: {
  store: AgentStore
  packages: PackageManager
  dataDir: string
  log: Logger
  /** Dial this instead of the URL enrolled with. */
  centerUrl?: string
  /** Called when a package has arrived (instances waiting for it can go on). */
  arrived?: () => void
}) {
  const { store, log } = options
  const partialDir = join(options.dataDir, 'packages', '.partial')
  let running: Promise<void> | undefined
  let again = false

  async function download(ref: PackageRef): Promise<string> {
    const identity = loadIdentity(options.dataDir)
    if (!identity) throw new Error('this edge is not enrolled')
    await mkdir(partialDir, { recursive: true })
    const file = join(partialDir, ref.digest)
    const have = await sizeOf(file)
    if (have < ref.size) {
      const path = `/edge/v1/packages/${ref.digest}`
      const response = await fetch(`${options.centerUrl ?? identity.centerUrl}${path}`, {
        headers: {
          authorization: signedHeader(identity, 'GET', path),
          ...(have > 0 ? { range: `bytes=${have}-`, 'if-range': `"${ref.digest}"` } : {}),
        },
      })
      if (response.status === 404) throw new FinalError(`the center does not offer package ${ref.digest} to this edge`)
      if (response.status !== 200 && response.status !== 206) {
        throw new Error(`the center answered ${response.status} to the package download`)
      }
      if (!response.body) throw new Error('the package download had no body')
      const resumed = response.status === 206
      await pipeline(Readable.fromWeb(response.body as never), createWriteStream(file, { flags: resumed ? 'a' : 'w' }))
    }
    const digest = await sha256Of(file)
    if (digest !== ref.digest) {
      await rm(file, { force: true })
      throw new FinalError(`the downloaded package has SHA-256 ${digest}, not ${ref.digest}`)
    }
    return file
  }

  async function fetchOne(ref: PackageRef & { state: string }) {
    store.wanted.move(ref.appPkgId, 'DISTRIBUTING')
    try {
      if (!store.packages.get(ref.digest)) {
        const file = await download(ref)
        await options.packages.add(createReadStream(file), ref.appPkgId)
        await rm(file, { force: true })
      }
      store.wanted.move(ref.appPkgId, 'DISTRIBUTED')
      log.info('package distributed here', { appPkgId: ref.appPkgId, digest: ref.digest })
      options.arrived?.()
    } catch (error) {
      const message = (error as Error).message
      const final = error instanceof FinalError || (error as { status?: number }).status === 422
      if (final) {
        store.wanted.move(ref.appPkgId, 'FAILED', message)
        await rm(join(partialDir, ref.digest), { force: true })
      }
      log.warn(final ? 'package distribution failed' : 'package download interrupted; it resumes', {
        appPkgId: ref.appPkgId,
        error: message,
      })
    }
  }

  async function pass() {
    do {
      again = false
      for (const wanted of store.wanted.list()) {
        if (wanted.state === 'PENDING' || wanted.state === 'DISTRIBUTING') await fetchOne(wanted)
      }
    } while (again)
  }

  return {
    /** Resolves when no pass is running (before the store closes). */
    idle: (): Promise<void> => running ?? Promise.resolve(),
    /** Fetches what is wanted and not yet here; a call during a pass makes it look again. */
    run(): Promise<void> {
      if (running) {
        again = true
        return running
      }
      running = pass().finally(() => {
        running = undefined
      })
      return running
    },
  }
}
