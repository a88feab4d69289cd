import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { defaultLimits } from './archive'
import { type PackageSpec, writePackage } from './build'
import { readPackage } from './csar'
import { helloSpec } from './hello'
import { writeZip, zipBuffer } from './zip-writer'

const dir = mkdtempSync(join(tmpdir(), 'mecm-csar-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const path = () => join(dir, `p${++n}.csar`)
const options = { limits: defaultLimits }

/** The hello package, with the services, rules and ports these tests read back. */
const exec = (overrides: Partial<PackageSpec> = {}): PackageSpec => {
  const hello = helloSpec()
  return helloSpec({
    appd: {
      ...hello.appd,
      configuration: {
        appServiceProduced: [{ serName: 'hello', version: '1.0' }],
        appDNSRule: [{ dnsRuleId: 'd1', domainName: 'hello.mec', ipAddressType: 'IP_V4', ipAddress: '10.0.0.1' }],
      },
    },
    files: {
      ...hello.files,
      'Artifacts/Deployment/Exec/app.yaml': 'command: node\nargs: [server.js]\nports: [{name: http, port: 8080}]\n',
    },
    ...overrides,
  })
}

/** Puts every other entry's SHA-256 into the entries' .mf, as a valid package has it. */
function listed(entries: [string, string | Buffer][]): [string, string | Buffer][] {
  const sources = entries
    .filter(([name]) => !name.endsWith('.mf') && !name.startsWith('TOSCA-Metadata/'))
    .map(
      ([name, data]) =>
        `Source: ${name}\nAlgorithm: SHA-256\nHash: ${createHash('sha256').update(data).digest('hex')}\n`,
    )
  return entries.map(([name, data]) => (name.endsWith('.mf') ? [name, `${data}\n${sources.join('\n')}`] : [name, data]))
}

async function built(spec: PackageSpec) {
  const file = path()
  await writePackage(file, spec)
  return file
}

async function rejection(file: string) {
  return readPackage(file, options).then(
    () => 'accepted',
    (error: Error & { status?: number }) => `${error.status} ${error.message}`,
  )
}

describe('package layouts', () => {
  it.each(['yaml', 'zip', 'definitions'] as const)('reads the %s layout', async (layout) => {
    const content = await readPackage(await built(exec({ layout })), options)
    expect(content.appClass).toBe('exec')
    expect(content.appd).toMatchObject({
      appDId: 'hello-appd',
      appName: 'hello',
      appProvider: 'Acme',
      appSoftVersion: '1.0.0',
      appServiceProduced: [{ serName: 'hello' }],
      inputs: [{ name: 'port', type: 'string', defaultValue: '8080', description: 'listen port' }],
    })
    expect(content.exec).toMatchObject({ command: 'node', args: ['server.js'], restart: 'on-failure' })
    expect(content.artifacts).toEqual([{ kind: 'exec', path: 'Artifacts/Deployment/Exec/app.yaml' }])
    expect(content.manifest.metadata.app_product_name).toBe('hello')
    expect(content.signed).toBe(false)
  })

  it('reads a package whose files all sit in one top-level directory', async () => {
    const flat = await built(exec())
    const wrapped = path()
    const { openArchive } = await import('./archive')
    const archive = await openArchive(flat)
    const entries: [string, Buffer][] = []
    for (const name of archive.names) entries.push([`hello-1.0/${name}`, await archive.read(name)])
    archive.close()
    await writeZip(wrapped, entries)
    expect((await readPackage(wrapped, options)).appd.appName).toBe('hello')
  })

  it('records Kubernetes manifests, Helm charts and images by class', async () => {
    const container = await readPackage(
      await built({
        appClass: 'container',
        appd: { id: 'web', name: 'web', provider: 'Acme', version: '2' },
        files: {
          'Artifacts/Deployment/Kubernetes/deployment.yaml': 'kind: Deployment\n',
          'Artifacts/Deployment/Charts/web-1.0.tgz': Buffer.from([1, 2, 3]),
          'Image/SwImageDesc.json': JSON.stringify([{ id: 'i1', name: 'web', swImage: 'registry.local/web:2' }]),
        },
      }),
      options,
    )
    expect(container.artifacts).toEqual([
      { kind: 'kubernetes', path: 'Artifacts/Deployment/Kubernetes/deployment.yaml' },
      { kind: 'helm', path: 'Artifacts/Deployment/Charts/web-1.0.tgz' },
      { kind: 'container-image', path: 'registry.local/web:2' },
    ])
    const vm = await readPackage(
      await built({
        appClass: 'vm',
        appd: {
          id: 'vm',
          name: 'vm',
          provider: 'Acme',
          version: '1',
          compute: { cpus: 2, memoryMiB: 4096, storageGiB: 20 },
        },
        files: { 'Image/SwImageDesc.json': JSON.stringify([{ id: 'i1', name: 'disk', swImage: 'Image/disk.qcow2' }]) },
      }),
      options,
    )
    expect(vm.appd.virtualComputeDescriptor).toEqual({
      virtualCpu: { numVirtualCpu: 2 },
      virtualMemory: { virtualMemSize: 4096 },
      virtualLocalStorage: { sizeOfStorage: 20 },
    })
    expect(vm.artifacts).toEqual([{ kind: 'vm-image', path: 'Image/disk.qcow2' }])
  })
})

describe('refused packages', () => {
  it('a hash mismatch', async () => {
    const file = await built(
      exec({ manifestOverrides: { hashes: { 'Artifacts/Deployment/Exec/server.js': '0'.repeat(64) } } }),
    )
    expect(await rejection(file)).toMatch(/^422 hash mismatch for Artifacts\/Deployment\/Exec\/server.js/)
  })

  it('a manifest listing a file the package does not hold', async () => {
    const file = await built(exec({ manifestOverrides: { extra: [{ path: 'missing.txt', hash: 'a'.repeat(64) }] } }))
    expect(await rejection(file)).toContain('lists missing.txt, which the package does not hold')
  })

  it('a file the manifest does not list, so that nothing can be slipped into a package', async () => {
    const file = await built(exec({ manifestOverrides: { omit: ['Artifacts/Deployment/Exec/server.js'] } }))
    expect(await rejection(file)).toContain('does not list Artifacts/Deployment/Exec/server.js')
  })

  it('a file listed twice', async () => {
    const hash = createHash('sha256').update('x').digest('hex')
    const file = await built(
      exec({ manifestOverrides: { extra: [{ path: 'Artifacts/Deployment/Exec/app.yaml', hash }] } }),
    )
    expect(await rejection(file)).toContain('lists Artifacts/Deployment/Exec/app.yaml more than once')
  })

  it.each([
    ['no manifest', [['TOSCA-Metadata/TOSCA.meta', 'Entry-Definitions: a.yaml\n']], 'no .mf manifest'],
    ['no TOSCA.meta', [['x.mf', 'app_class: exec\n']], 'no TOSCA-Metadata/TOSCA.meta'],
    [
      'TOSCA.meta without Entry-Definitions',
      [
        ['x.mf', 'app_class: exec\n'],
        ['TOSCA-Metadata/TOSCA.meta', 'CSAR-Version: 1.1\n'],
      ],
      'no Entry-Definitions',
    ],
    [
      'an Entry-Definitions pointing nowhere',
      [
        ['x.mf', 'app_class: exec\n'],
        ['TOSCA-Metadata/TOSCA.meta', 'Entry-Definitions: APPD/none.yaml\n'],
      ],
      'does not hold',
    ],
    [
      'an APPD that is not YAML',
      [
        ['x.mf', ''],
        ['TOSCA-Metadata/TOSCA.meta', 'Entry-Definitions: a.yaml\n'],
        ['a.yaml', 'key: [unclosed'],
      ],
      'is not valid YAML',
    ],
    [
      'an APPD that is not TOSCA',
      [
        ['x.mf', ''],
        ['TOSCA-Metadata/TOSCA.meta', 'Entry-Definitions: a.yaml\n'],
        ['a.yaml', 'hello: world\n'],
      ],
      'not a TOSCA template',
    ],
    ['a malformed manifest', [['x.mf', 'Source: a\nHash: 12\n']], 'needs Source, Algorithm and Hash'],
    [
      'a bad app_class',
      [
        ['x.mf', 'app_class: docker\n'],
        ['TOSCA-Metadata/TOSCA.meta', 'Entry-Definitions: a.yaml\n'],
        [
          'a.yaml',
          'tosca_definitions_version: tosca_simple_yaml_1_2\nmetadata: {template_name: a, template_author: b, template_version: "1"}\n',
        ],
      ],
      'app_class "docker"',
    ],
  ] as const)('%s', async (_, entries, message) => {
    const file = path()
    await writeZip(file, listed(entries as unknown as [string, string][]))
    expect(await rejection(file)).toContain(message)
  })

  it('an exec package without its descriptor, and a container package without manifests', async () => {
    expect(await rejection(await built(exec({ files: {} })))).toContain('an exec package needs')
    expect(await rejection(await built(exec({ appClass: 'container' })))).toContain('a container package needs')
  })

  it('an exec descriptor that would run outside the package', async () => {
    const file = await built(
      exec({ files: { 'Artifacts/Deployment/Exec/app.yaml': 'command: x\nworkingDir: ../..\n' } }),
    )
    expect(await rejection(file)).toContain('must be a path inside the package')
  })
})

describe('unsafe archives', () => {
  const good: [string, string][] = [['a.txt', 'a']]

  it.each([
    ['an entry escaping the root', [['../evil.sh', 'x']], 'unsafe entry name'],
    ['a nested escape', [['APPD/../../evil.sh', 'x']], 'unsafe entry name'],
    ['a doubled slash', [['APPD//a.yaml', 'x']], 'is not canonical'],
    ['a dot segment', [['./a.yaml', 'x']], 'is not canonical'],
    ['an absolute path', [['/etc/cron.d/evil', 'x']], 'unsafe entry name'],
    ['a backslash path', [['..\\evil', 'x']], 'unsafe entry name'],
    [
      'duplicate names',
      [
        ['a.txt', 'a'],
        ['a.txt', 'b'],
      ],
      'duplicate entry "a.txt"',
    ],
    [
      'names differing only in case',
      [
        ['A.txt', 'a'],
        ['a.txt', 'b'],
      ],
      'duplicate entry',
    ],
  ] as const)('%s', async (_, entries, message) => {
    const file = path()
    await writeZip(file, entries as unknown as [string, string][])
    expect(await rejection(file)).toMatch(new RegExp(`^422 .*${message.replace(/[.*"]/g, '.')}`))
  })

  it('a symbolic link', async () => {
    const file = path()
    await writeZip(file, [...good, ['link', '/etc/passwd', { mode: 0o120777 }]])
    expect(await rejection(file)).toContain('symbolic link')
  })

  it('too many entries', async () => {
    const file = path()
    await writeZip(
      file,
      Array.from({ length: 11 }, (_, i) => [`f${i}`, 'x'] as [string, string]),
    )
    const limits = { ...defaultLimits, maxEntries: 10 }
    await expect(readPackage(file, { limits })).rejects.toThrow('11 entries, over the limit of 10')
  })

  it('an entry over the size limit, and a total over the limit', async () => {
    const file = path()
    await writeZip(file, [
      ['a', 'x'.repeat(600)],
      ['b', 'y'.repeat(600)],
    ])
    await expect(readPackage(file, { limits: { ...defaultLimits, maxEntryBytes: 500 } })).rejects.toThrow(
      'entry "a" is 600 bytes, over the 500-byte limit',
    )
    await expect(readPackage(file, { limits: { ...defaultLimits, maxTotalBytes: 1000 } })).rejects.toThrow(
      'unpacks to more than 1000 bytes',
    )
  })

  it('a compression bomb', async () => {
    const file = path()
    await writeZip(file, [['zeros', Buffer.alloc(64 * 1024 * 1024)]])
    expect(await rejection(file)).toMatch(/expands \d+-fold: refused as a zip bomb/)
  })

  it('an entry that unpacks to more than its header declares', async () => {
    const inner = await zipBuffer([['TOSCA_VNFD.meta', 'Entry-Definitions: Definition/a.yaml\n']])
    const file = path()
    const [manifest] = listed([
      ['x.mf', 'app_class: exec\n'],
      ['APPD/a.zip', inner],
    ])
    await writeZip(file, [
      manifest as [string, string],
      ['TOSCA-Metadata/TOSCA.meta', 'Entry-Definitions: APPD/a.zip\n'],
      ['APPD/a.zip', inner, { declaredSize: 10 }],
    ])
    expect(await rejection(file)).toMatch(/^422 not a valid zip archive/)
  })

  it('a file that is not a zip at all, and a truncated one', async () => {
    const junk = path()
    writeFileSync(junk, 'this is not a zip file')
    expect(await rejection(junk)).toMatch(/^422 not a valid zip archive/)
    const whole = await built(exec())
    const truncated = path()
    writeFileSync(truncated, readFileSync(whole).subarray(0, 300))
    expect(await rejection(truncated)).toMatch(/^422 not a valid zip archive/)
  })
})

describe('signed packages', () => {
  const ca = join(dir, 'ca')
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' })
  const makeAuthority = (name: string) => {
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${ca}-${name}.key`,
      '-out',
      `${ca}-${name}.pem`,
    )
    return { key: `${ca}-${name}.key`, cert: `${ca}-${name}.pem` }
  }
  const signer = (authority: { key: string; cert: string }) => async (content: Buffer) => {
    const input = join(dir, `content-${++n}`)
    writeFileSync(input, content)
    return openssl(
      'cms',
      '-sign',
      '-binary',
      '-in',
      input,
      '-signer',
      authority.cert,
      '-inkey',
      authority.key,
      '-outform',
      'PEM',
    )
      .toString()
      .trim()
  }

  it('accepts a signature that verifies, and refuses an unsigned package, a foreign signer and a changed manifest', async () => {
    const trusted = makeAuthority('trusted')
    const stranger = makeAuthority('stranger')
    const withAnchor = { limits: defaultLimits, trustAnchor: trusted.cert }

    const signed = await built(exec({ sign: signer(trusted) }))
    expect((await readPackage(signed, withAnchor)).signed).toBe(true)

    await expect(readPackage(await built(exec()), withAnchor)).rejects.toThrow('is not signed')
    await expect(readPackage(await built(exec({ sign: signer(stranger) })), withAnchor)).rejects.toThrow(
      'does not verify against the trust anchor',
    )
    const tampered = await built(
      exec({
        sign: async (content) =>
          signer(trusted)(Buffer.from(content.toString().replace('app_type: tool', 'app_type: other'))),
      }),
    )
    await expect(readPackage(tampered, withAnchor)).rejects.toThrow('does not verify')
  })
})
