import { createLogger } from '@mecm/runtime'
import { loadConfig } from './config'
import { startCenter } from './server'

/** `npm start -w @mecm/center -- --listen 0.0.0.0:8080`: runs the center until SIGINT or SIGTERM. */
const config = (() => {
  try {
    return loadConfig(process.argv.slice(2), process.env)
  } catch (error) {
    console.error((error as Error).message)
    process.exit(2)
  }
})()
const log = createLogger(config.logLevel)
const center = await startCenter(config, log).catch((error: Error) => {
  log.error('center failed to start', { error: error.message })
  process.exit(1)
})

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    log.info('stopping', { signal })
    const forced = setTimeout(() => process.exit(1), 10_000)
    forced.unref()
    center.close().then(() => process.exit(0))
  })
}
