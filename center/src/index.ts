/** What other workspace packages (bench, the end-to-end quickstart) use of the center. */

export { createLogger } from '@mecm/runtime'
export { defaultLimits } from './apm/csar/archive'
export { type PackageSpec, writePackage } from './apm/csar/build'
export { readPackage } from './apm/csar/csar'
export { type Config, loadConfig } from './config'
export { type Center, startCenter, VERSION } from './server'
