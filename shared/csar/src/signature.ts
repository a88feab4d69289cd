import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { PackageError } from './package-error'

const run = promisify(execFile)

/**
 * Verifies a manifest's detached CMS signature against the configured trust anchor (a PEM CA
 * file) with the system's `openssl cms -verify`.
 */
export async function verifyCmsSignature(content: Buffer, pem: string, trustAnchor: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mecm-cms-'))
  try {
    await writeFile(join(dir, 'content'), content)
    await writeFile(join(dir, 'signature.pem'), pem)
    await run('openssl', [
      'cms',
      '-verify',
      '-binary',
      '-inform',
      'PEM',
      '-in',
      join(dir, 'signature.pem'),
      '-content',
      join(dir, 'content'),
      '-CAfile',
      trustAnchor,
      '-purpose',
      'any',
      '-out',
      '/dev/null',
    ])
  } catch (error) {
    const reason = String((error as { stderr?: string }).stderr ?? error)
      .split('\n')
      .find((line) => line.trim())
    throw new PackageError(
      `the manifest signature does not verify against the trust anchor: ${reason ?? 'unknown error'}`,
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
