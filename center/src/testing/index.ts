/** What other packages' tests use to run a real center. */

export type { Dialect } from '../db/driver'
export * from './center'
export { centerProcess, signedInAdmin } from './center-process'
export { localServer, uploadForm } from './packages'
export { dialects } from './stores'
