import { readFileSync } from 'node:fs'
import type { KubernetesObject } from '@kubernetes/client-node'
import { parseAllDocuments } from 'yaml'
import { packageFile } from '../package-files'

/** An object of a manifest: what the API takes, untyped beyond its identity. */
export type Manifest = KubernetesObject & { apiVersion: string; kind: string; metadata: { name: string } } & Record<
    string,
    unknown
  >

/** Parses multi-document YAML into objects (a `kind: List` gives its items); `source` names it in errors. */
export function parseManifests(text: string, source: string): Manifest[] {
  const objects: unknown[] = []
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length) throw new Error(`${source} is not valid YAML: ${document.errors[0]?.message}`)
    const value = document.toJS()
    if (value === null || value === undefined) continue
    if (value.kind === 'List' && Array.isArray(value.items)) objects.push(...value.items)
    else objects.push(value)
  }
  return objects.map((value, at) => {
    const object = value as Partial<Manifest>
    if (typeof object !== 'object' || !object.apiVersion || !object.kind || !object.metadata?.name)
      throw new Error(`${source}: object ${at + 1} needs apiVersion, kind and metadata.name`)
    return object as Manifest
  })
}

/** The manifests of the package's `kubernetes` artifacts, in the order the package lists them. */
export function readManifests(packageRoot: string, paths: string[]): Manifest[] {
  return paths.flatMap((path) => parseManifests(readFileSync(packageFile(packageRoot, path), 'utf8'), path))
}
