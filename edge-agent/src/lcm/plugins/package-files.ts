import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve, sep } from 'node:path'
import { SwImageDescriptor } from '@mecm/protocol'
import { z } from 'zod'

/** A file of the unpacked package, refusing paths that leave it (`what` names it in the error). */
export function packageFile(packageRoot: string, path: string, what = path): string {
  const file = resolve(packageRoot, path)
  if (!file.startsWith(resolve(packageRoot) + sep)) throw new Error(`${what} leaves the package`)
  return file
}

/** The images the package declares in Image/SwImageDesc.json (none when it has no such file). */
export function readSwImages(packageRoot: string): SwImageDescriptor[] {
  const dir = join(packageRoot, 'Image')
  const name = existsSync(dir) ? readdirSync(dir).find((file) => file.toLowerCase() === 'swimagedesc.json') : undefined
  if (!name) return []
  const parsed = z.array(SwImageDescriptor).safeParse(JSON.parse(readFileSync(join(dir, name), 'utf8')))
  if (!parsed.success) throw new Error(`Image/${name}: ${z.prettifyError(parsed.error).replace(/\n/g, ' ')}`)
  return parsed.data
}
