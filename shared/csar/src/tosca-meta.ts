import { PackageError } from './package-error'

/** `TOSCA-Metadata/TOSCA.meta` (or an APPD's `TOSCA_VNFD.meta`): `Key: value` lines; Entry-Definitions is required. */
export function entryDefinitions(bytes: Buffer, file: string): string {
  for (const line of bytes.toString('utf8').split(/\r?\n/)) {
    const match = line.match(/^\s*Entry-Definitions\s*:\s*(\S.*?)\s*$/)
    if (match?.[1]) return match[1].replace(/^\.\//, '')
  }
  throw new PackageError(`${file} has no Entry-Definitions line pointing at the application descriptor`)
}
