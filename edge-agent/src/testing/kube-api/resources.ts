/** One kind of object the test API server serves, as its discovery documents describe it. */
export interface ResourceType {
  group: string
  version: string
  kind: string
  /** The resource name in URLs: `deployments`. */
  plural: string
  singular: string
  namespaced: boolean
  shortNames?: string[]
  /** Subresources served, e.g. `status`, `log`. */
  subresources?: string[]
}

const verbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']

const core = (kind: string, plural: string, namespaced: boolean, extra: Partial<ResourceType> = {}): ResourceType => ({
  group: '',
  version: 'v1',
  kind,
  plural,
  singular: kind.toLowerCase(),
  namespaced,
  ...extra,
})
const grouped = (group: string, kind: string, plural: string, extra: Partial<ResourceType> = {}): ResourceType => ({
  group,
  version: 'v1',
  kind,
  plural,
  singular: kind.toLowerCase(),
  namespaced: true,
  subresources: ['status'],
  ...extra,
})

export const resourceTypes: ResourceType[] = [
  core('Namespace', 'namespaces', false, { shortNames: ['ns'], subresources: ['status', 'finalize'] }),
  core('Node', 'nodes', false, { shortNames: ['no'], subresources: ['status'] }),
  core('Pod', 'pods', true, { shortNames: ['po'], subresources: ['status', 'log'] }),
  core('Service', 'services', true, { shortNames: ['svc'], subresources: ['status'] }),
  core('Secret', 'secrets', true),
  core('ConfigMap', 'configmaps', true, { shortNames: ['cm'] }),
  core('ServiceAccount', 'serviceaccounts', true, { shortNames: ['sa'] }),
  core('PersistentVolumeClaim', 'persistentvolumeclaims', true, { shortNames: ['pvc'], subresources: ['status'] }),
  core('Event', 'events', true, { shortNames: ['ev'] }),
  grouped('apps', 'Deployment', 'deployments', { shortNames: ['deploy'] }),
  grouped('apps', 'ReplicaSet', 'replicasets', { shortNames: ['rs'] }),
  grouped('apps', 'StatefulSet', 'statefulsets', { shortNames: ['sts'] }),
  grouped('apps', 'DaemonSet', 'daemonsets', { shortNames: ['ds'] }),
  grouped('batch', 'Job', 'jobs'),
  grouped('networking.k8s.io', 'Ingress', 'ingresses', { shortNames: ['ing'] }),
]

/** `deployments.apps`, `pods`: how the API server names a resource in its messages. */
export const groupResource = (type: ResourceType) => (type.group ? `${type.plural}.${type.group}` : type.plural)
export const apiVersionOf = (type: ResourceType) => (type.group ? `${type.group}/${type.version}` : type.version)

export function typeOfKind(kind: string): ResourceType {
  const type = resourceTypes.find((t) => t.kind === kind)
  if (!type) throw new Error(`the test API server does not serve kind ${kind}`)
  return type
}

export function findType(group: string, version: string, plural: string): ResourceType | undefined {
  return resourceTypes.find((t) => t.group === group && t.version === version && t.plural === plural)
}

const groups = () => [...new Set(resourceTypes.filter((t) => t.group).map((t) => t.group))]

/** GET /api */
export const coreVersions = (serverAddress: string) => ({
  kind: 'APIVersions',
  versions: ['v1'],
  serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
})

const groupDocument = (name: string) => {
  const groupVersion = { groupVersion: `${name}/v1`, version: 'v1' }
  return { name, versions: [groupVersion], preferredVersion: groupVersion }
}
const metricsGroup = () => {
  const groupVersion = { groupVersion: 'metrics.k8s.io/v1beta1', version: 'v1beta1' }
  return { name: 'metrics.k8s.io', versions: [groupVersion], preferredVersion: groupVersion }
}

/** GET /apis: the metrics group is listed only while the cluster has a metrics server. */
export const groupList = (withMetrics: boolean) => ({
  kind: 'APIGroupList',
  apiVersion: 'v1',
  groups: [...groups().map(groupDocument), ...(withMetrics ? [metricsGroup()] : [])],
})

/** GET /apis/{group} */
export const apiGroup = (name: string, withMetrics: boolean) => {
  if (name === 'metrics.k8s.io')
    return withMetrics ? { kind: 'APIGroup', apiVersion: 'v1', ...metricsGroup() } : undefined
  return groups().includes(name) ? { kind: 'APIGroup', apiVersion: 'v1', ...groupDocument(name) } : undefined
}

/** GET /api/v1, /apis/{group}/{version}: what client-node's KubernetesObjectApi maps kinds to resources with. */
export function resourceList(group: string, version: string) {
  const types = resourceTypes.filter((t) => t.group === group && t.version === version)
  if (!types.length) return undefined
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: types.flatMap((t) => [
      {
        name: t.plural,
        singularName: t.singular,
        namespaced: t.namespaced,
        kind: t.kind,
        verbs,
        ...(t.shortNames ? { shortNames: t.shortNames } : {}),
      },
      ...(t.subresources ?? []).map((sub) => ({
        name: `${t.plural}/${sub}`,
        singularName: '',
        namespaced: t.namespaced,
        kind: sub === 'log' ? 'Pod' : t.kind,
        verbs: sub === 'log' ? ['get'] : sub === 'finalize' ? ['update'] : ['get', 'patch', 'update'],
      })),
    ]),
  }
}

/** GET /apis/metrics.k8s.io/v1beta1 */
export const metricsResourceList = () => ({
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: 'metrics.k8s.io/v1beta1',
  resources: [
    { name: 'nodes', singularName: '', namespaced: false, kind: 'NodeMetrics', verbs: ['get', 'list'] },
    { name: 'pods', singularName: '', namespaced: true, kind: 'PodMetrics', verbs: ['get', 'list'] },
  ],
})
