/** What other workspace packages (bench, the end-to-end quickstart) use of the center. */

export { createLogger } from '@mecm/runtime'
export { type Config, loadConfig } from './config'
export { type Center, startCenter, VERSION } from './server'
