import { PackageError } from './package-error'

/**
 * The `.mf` manifest: `key: value` metadata (app_product_name, app_provider_id,
 * app_package_version, app_release_data_time, app_type, app_class, app_package_description),
 * then `Source:` / `Algorithm:` / `Hash:` blocks, one per file, then optionally a detached
 * CMS signature between `-----BEGIN CMS-----` and `-----END CMS-----` over the text before it.
 */
export interface Manifest {
  metadata: Record<string, string>
  sources: { path: string; algorithm: string; hash: string }[]
  /** The signed text and the PEM signature, when the manifest is signed. */
  signature?: { content: Buffer; pem: string }
}

const CMS_BEGIN = '-----BEGIN CMS-----'
const CMS_END = '-----END CMS-----'

export function parseManifest(bytes: Buffer, file: string): Manifest {
  const text = bytes.toString('utf8')
  const begin = text.indexOf(CMS_BEGIN)
  const body = begin >= 0 ? text.slice(0, begin) : text
  let signature: Manifest['signature']
  if (begin >= 0) {
    const end = text.indexOf(CMS_END, begin)
    if (end < 0) throw new PackageError(`${file}: the CMS signature block has no ${CMS_END} line`)
    signature = { content: Buffer.from(body, 'utf8'), pem: text.slice(begin, end + CMS_END.length) }
  }

  const metadata: Record<string, string> = {}
  const sources: Manifest['sources'] = []
  let current: Partial<Manifest['sources'][number]> | undefined
  const flush = (line: number) => {
    if (!current) return
    if (!current.path || !current.algorithm || !current.hash) {
      throw new PackageError(`${file}: the Source block ending at line ${line} needs Source, Algorithm and Hash`)
    }
    sources.push(current as Manifest['sources'][number])
    current = undefined
  }
  const lines = body.split(/\r?\n/)
  lines.forEach((raw, index) => {
    const line = raw.trim()
    if (!line || line === 'metadata:' || line.startsWith('#')) return
    const colon = line.indexOf(':')
    if (colon <= 0) throw new PackageError(`${file}: line ${index + 1} is not "key: value": ${line.slice(0, 80)}`)
    const key = line.slice(0, colon).trim()
    const value = line.slice(colon + 1).trim()
    if (key === 'Source') {
      flush(index)
      current = { path: value }
    } else if (key === 'Algorithm' || key === 'Hash') {
      if (!current) throw new PackageError(`${file}: line ${index + 1} has ${key} outside a Source block`)
      current[key === 'Algorithm' ? 'algorithm' : 'hash'] = key === 'Hash' ? value.toLowerCase() : value
    } else {
      flush(index)
      metadata[key] = value
    }
  })
  flush(lines.length)
  for (const source of sources) {
    if (source.algorithm.toUpperCase().replace('_', '-') !== 'SHA-256') {
      throw new PackageError(`${file}: ${source.path} uses ${source.algorithm}; only SHA-256 is accepted`)
    }
    if (!/^[0-9a-f]{64}$/.test(source.hash))
      throw new PackageError(`${file}: the hash of ${source.path} is not SHA-256 hex`)
  }
  return { metadata, sources, ...(signature ? { signature } : {}) }
}
