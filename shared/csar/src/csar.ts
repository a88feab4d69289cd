import { createHash } from 'node:crypto'
import {
  type AppClass,
  AppClass as AppClassSchema,
  type AppD,
  ExecDescriptor,
  type PackageArtifact,
  SwImageDescriptor,
} from '@mecm/protocol'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { parseAppdTemplate } from './appd-template'
import { type Archive, type ArchiveLimits, malformed, openArchive } from './archive'
import { type Manifest, parseManifest } from './manifest'
import { PackageError } from './package-error'
import { verifyCmsSignature } from './signature'
import { entryDefinitions } from './tosca-meta'

/** What onboarding learns from a valid package. */
export interface PackageContent {
  manifest: Manifest
  signed: boolean
  appClass: AppClass
  appd: AppD
  swImages: SwImageDescriptor[]
  artifacts: PackageArtifact[]
  exec?: ExecDescriptor
}

export interface ReadOptions {
  limits: ArchiveLimits
  /** A PEM CA file: when set, every package must carry a manifest signature that verifies against it. */
  trustAnchor?: string
}

const isYaml = (name: string) => /\.ya?ml$/i.test(name)

async function sha256Of(archive: Archive, name: string): Promise<string> {
  const hash = createHash('sha256')
  try {
    for await (const chunk of await archive.stream(name)) hash.update(chunk as Buffer)
  } catch (error) {
    throw error instanceof PackageError ? error : malformed(error)
  }
  return hash.digest('hex')
}

/** Files a manifest need not list: itself, the TOSCA metadata, and certificates beside it. */
const unlistable = (name: string, manifest: string) =>
  name === manifest || name.startsWith('TOSCA-Metadata/') || /^[^/]+\.(cert|crt|pem)$/i.test(name)

/**
 * Every file must be listed once with its SHA-256, and match it: nothing can be added to or
 * changed in a (signed) package without the manifest saying so.
 */
async function verifySources(archive: Archive, manifest: Manifest, file: string): Promise<void> {
  const listed = new Set<string>()
  for (const source of manifest.sources) {
    const name = source.path.replace(/^\.\//, '')
    if (listed.has(name)) throw new PackageError(`${file} lists ${source.path} more than once`)
    listed.add(name)
  }
  const unlisted = archive.names.filter((name) => !listed.has(name) && !unlistable(name, file))
  if (unlisted.length) {
    const shown = unlisted.slice(0, 5).join(', ') + (unlisted.length > 5 ? ` and ${unlisted.length - 5} more` : '')
    throw new PackageError(
      `${file} does not list ${shown}: every file of a package must be in its manifest with its SHA-256`,
    )
  }
  for (const source of manifest.sources) {
    const name = source.path.replace(/^\.\//, '')
    if (archive.size(name) === undefined) {
      throw new PackageError(`${file} lists ${source.path}, which the package does not hold`)
    }
    const actual = await sha256Of(archive, name)
    if (actual !== source.hash) {
      throw new PackageError(
        `hash mismatch for ${source.path}: the manifest says ${source.hash}, the file is ${actual}`,
      )
    }
  }
}

/** The APPD named by Entry-Definitions: a YAML template, or a nested zip with its own TOSCA_VNFD.meta. */
async function readAppd(archive: Archive, entry: string, limits: ArchiveLimits): Promise<AppD> {
  if (archive.size(entry) === undefined) {
    throw new PackageError(`Entry-Definitions points at ${entry}, which the package does not hold`)
  }
  if (isYaml(entry)) return parseAppdTemplate(await archive.read(entry, 16 * 1024 * 1024), entry)
  if (!/\.zip$/i.test(entry))
    throw new PackageError(`Entry-Definitions must name a .yaml APPD or an APPD .zip, not ${entry}`)
  const nested = await openArchive(await archive.read(entry, 64 * 1024 * 1024), limits)
  try {
    const meta = nested.names.find((name) => /(^|\/)TOSCA[-_]VNFD\.meta$|TOSCA\.meta$/.test(name))
    const template = meta
      ? entryDefinitions(await nested.read(meta), `${entry}:${meta}`)
      : nested.names.find((name) => isYaml(name) && /Definitions?\//.test(name))
    if (!template) throw new PackageError(`${entry} holds neither TOSCA_VNFD.meta nor a Definition/*.yaml template`)
    if (nested.size(template) === undefined) throw new PackageError(`${entry} has no ${template}`)
    return parseAppdTemplate(await nested.read(template, 16 * 1024 * 1024), `${entry}:${template}`)
  } finally {
    nested.close()
  }
}

function findEntryDefinitions(archive: Archive): Promise<string> | string {
  if (archive.size('TOSCA-Metadata/TOSCA.meta') !== undefined) {
    return archive
      .read('TOSCA-Metadata/TOSCA.meta')
      .then((bytes) => entryDefinitions(bytes, 'TOSCA-Metadata/TOSCA.meta'))
  }
  // the older layout: no TOSCA.meta, the template under Definitions/
  const old = archive.names.find((name) => /^Definitions\/[^/]+\.ya?ml$/i.test(name))
  if (old) return old
  throw new PackageError('the package has no TOSCA-Metadata/TOSCA.meta (and no Definitions/*.yaml of the older layout)')
}

async function readSwImages(archive: Archive): Promise<SwImageDescriptor[]> {
  const name = archive.names.find((n) => /^Image\/SwImageDesc\.json$/i.test(n))
  if (!name) return []
  let json: unknown
  try {
    json = JSON.parse((await archive.read(name, 4 * 1024 * 1024)).toString('utf8'))
  } catch {
    throw new PackageError(`${name} is not valid JSON`)
  }
  const parsed = z.array(SwImageDescriptor).safeParse(json)
  if (!parsed.success) throw new PackageError(`${name}: ${z.prettifyError(parsed.error).replace(/\n/g, ' ')}`)
  return parsed.data
}

async function readExec(archive: Archive): Promise<{ path: string; exec: ExecDescriptor } | undefined> {
  const path = archive.names.find((n) => /^Artifacts\/Deployment\/Exec\/app\.(ya?ml|json)$/i.test(n))
  if (!path) return undefined
  let document: unknown
  try {
    document = parseYaml((await archive.read(path, 1024 * 1024)).toString('utf8'))
  } catch (error) {
    throw new PackageError(`${path} is not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`)
  }
  const parsed = ExecDescriptor.safeParse(document)
  if (!parsed.success) throw new PackageError(`${path}: ${z.prettifyError(parsed.error).replace(/\n/g, ' ')}`)
  return { path, exec: parsed.data }
}

function classOf(declared: string | undefined, artifacts: PackageArtifact[], file: string): AppClass {
  if (declared !== undefined) {
    const parsed = AppClassSchema.safeParse(declared.toLowerCase())
    if (!parsed.success) throw new PackageError(`${file}: app_class "${declared}" is not one of container, vm, exec`)
    return parsed.data
  }
  if (artifacts.some((a) => a.kind === 'exec')) return 'exec'
  if (artifacts.some((a) => a.kind === 'kubernetes' || a.kind === 'helm')) return 'container'
  return 'vm'
}

function requireRunnable(appClass: AppClass, artifacts: PackageArtifact[]): void {
  const has = (...kinds: PackageArtifact['kind'][]) => artifacts.some((a) => kinds.includes(a.kind))
  if (appClass === 'exec' && !has('exec')) {
    throw new PackageError('an exec package needs Artifacts/Deployment/Exec/app.yaml describing how to run it')
  }
  if (appClass === 'container' && !has('kubernetes', 'helm')) {
    throw new PackageError(
      'a container package needs Kubernetes manifests (Artifacts/Deployment/Kubernetes/*.yaml) or a Helm chart (Artifacts/Deployment/Charts/*.tgz)',
    )
  }
  if (appClass === 'vm' && !has('vm-image')) {
    throw new PackageError('a vm package needs Image/SwImageDesc.json naming at least one image')
  }
}

/**
 * Reads and checks a package file: archive safety, layout, manifest hashes, signature (when a
 * trust anchor is configured), descriptor, images and deployment artifacts. Throws PackageError
 * (422) saying what is wrong; reads the file entry by entry, never whole.
 */
export async function readPackage(file: string, options: ReadOptions): Promise<PackageContent> {
  const archive = await openArchive(file, options.limits)
  try {
    const manifests = archive.names.filter((name) => !name.includes('/') && /\.mf$/i.test(name))
    if (manifests.length !== 1) {
      throw new PackageError(
        manifests.length
          ? `the package has ${manifests.length} .mf manifests at its root; it needs one`
          : 'the package has no .mf manifest at its root',
      )
    }
    const mfName = manifests[0] as string
    const manifest = parseManifest(await archive.read(mfName, 4 * 1024 * 1024), mfName)
    if (options.trustAnchor) {
      if (!manifest.signature)
        throw new PackageError(`${mfName} is not signed, and this center accepts only signed packages`)
      await verifyCmsSignature(manifest.signature.content, manifest.signature.pem, options.trustAnchor)
    }
    await verifySources(archive, manifest, mfName)

    const appd = await readAppd(archive, await findEntryDefinitions(archive), options.limits)
    const swImages = await readSwImages(archive)
    const exec = await readExec(archive)
    const artifacts: PackageArtifact[] = [
      ...archive.names
        .filter((n) => /^Artifacts\/Deployment\/Kubernetes\/.+\.ya?ml$/i.test(n))
        .map((path) => ({ kind: 'kubernetes' as const, path })),
      ...archive.names
        .filter((n) => /^Artifacts\/Deployment\/Charts\/.+\.(tgz|tar\.gz|tar)$/i.test(n))
        .map((path) => ({ kind: 'helm' as const, path })),
      ...(exec ? [{ kind: 'exec' as const, path: exec.path }] : []),
    ]
    const appClass = classOf(manifest.metadata.app_class, artifacts, mfName)
    const imageKind = appClass === 'vm' ? ('vm-image' as const) : ('container-image' as const)
    artifacts.push(...swImages.map((image) => ({ kind: imageKind, path: image.swImage })))
    requireRunnable(appClass, artifacts)
    return {
      manifest,
      signed: Boolean(manifest.signature),
      appClass,
      appd,
      swImages,
      artifacts,
      ...(exec ? { exec: exec.exec } : {}),
    }
  } finally {
    archive.close()
  }
}
