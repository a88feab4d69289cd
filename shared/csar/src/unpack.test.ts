import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { writePackage } from './build'
import { unpackPackage } from './unpack'
import { writeZip } from './zip-writer'

const dir = mkdtempSync(join(tmpdir(), 'mecm-unpack-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('unpackPackage', () => {
  it('unpacks every file into the folder, whole, and keeps an existing folder as it is', async () => {
    const file = join(dir, 'hello.csar')
    await writePackage(file, {
      appClass: 'exec',
      appd: { id: 'hello', name: 'hello', provider: 'Acme', version: '1' },
      files: { 'Artifacts/Deployment/Exec/app.yaml': 'command: node\n', 'Artifacts/Deployment/Exec/server.js': 'x' },
    })
    const dest = join(dir, 'packages', 'abc')
    await unpackPackage(file, dest)
    expect(readFileSync(join(dest, 'Artifacts/Deployment/Exec/server.js'), 'utf8')).toBe('x')
    expect(existsSync(join(dest, 'hello.mf'))).toBe(true)
    await unpackPackage(file, dest)
    expect(readdirSync(join(dir, 'packages'))).toEqual(['abc'])
  })

  it('leaves nothing behind when an entry is unsafe', async () => {
    const file = join(dir, 'evil.zip')
    await writeZip(file, [
      ['ok.txt', 'fine'],
      ['../evil.sh', 'x'],
    ])
    const dest = join(dir, 'evil', 'pkg')
    await expect(unpackPackage(file, dest)).rejects.toThrow('unsafe entry name')
    expect(existsSync(dest)).toBe(false)
    expect(existsSync(join(dir, 'evil.sh'))).toBe(false)
  })
})
