import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { instanceNamespace } from './instance'

export interface Kind {
  apiVersion: string
  kind: string
}

/** Where an instance's objects are: recorded before the first is applied, so that terminate finds them all. */
export interface Footprint {
  /** The namespaces its namespaced objects are in. */
  namespaces: string[]
  /** Whether it has a namespace of its own (deleted with it), rather than one its package names. */
  ownNamespace: boolean
  kinds: Kind[]
}

/** What terminate and observe look for besides the recorded kinds (and without a record). */
export const COMMON_KINDS: Kind[] = [
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  { apiVersion: 'apps/v1', kind: 'DaemonSet' },
  { apiVersion: 'batch/v1', kind: 'Job' },
  { apiVersion: 'v1', kind: 'Pod' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'v1', kind: 'ConfigMap' },
  { apiVersion: 'v1', kind: 'Secret' },
  { apiVersion: 'v1', kind: 'ServiceAccount' },
  { apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' },
]

const sameKind = (a: Kind, b: Kind) => a.apiVersion === b.apiVersion && a.kind === b.kind

/** One small JSON file per instance under the plugin's work folder. */
export function footprints(workDir: string) {
  const dir = join(workDir, 'instances')
  const file = (id: string) => join(dir, `${id}.json`)
  return {
    /** The recorded footprint, or the one every instance without a record has: its own namespace. */
    read(id: string): Footprint {
      const recorded: Partial<Footprint> = existsSync(file(id)) ? JSON.parse(readFileSync(file(id), 'utf8')) : {}
      const kinds = [
        ...COMMON_KINDS,
        ...(recorded.kinds ?? []).filter((k) => !COMMON_KINDS.some((c) => sameKind(c, k))),
      ]
      return {
        namespaces: recorded.namespaces ?? [instanceNamespace(id)],
        ownNamespace: recorded.ownNamespace ?? true,
        kinds,
      }
    },
    write(id: string, footprint: Footprint) {
      mkdirSync(dir, { recursive: true })
      writeFileSync(file(id), JSON.stringify(footprint))
    },
    remove(id: string) {
      rmSync(file(id), { force: true })
    },
  }
}
