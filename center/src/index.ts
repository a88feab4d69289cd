/** What other workspace packages (bench, the end-to-end quickstart) use of the center. */
export { type Config, loadConfig } from './config'
export { createLogger } from './log'
export { type Center, startCenter, VERSION } from './server'
