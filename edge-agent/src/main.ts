import { createLogger } from '@mecm/runtime'
import { startAgent } from './agent'
import { loadAgentConfig } from './config'

/** `npm start -w @mecm/edge-agent`: runs the agent until SIGINT or SIGTERM. Its apps keep running. */
const config = (() => {
  try {
    return loadAgentConfig(process.argv.slice(2), process.env)
  } catch (error) {
    console.error((error as Error).message)
    process.exit(2)
  }
})()
const log = createLogger(config.logLevel, { component: 'mepm' })
const agent = await startAgent(config, log).catch((error: Error) => {
  log.error('agent failed to start', { error: error.message })
  process.exit(1)
})

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    const forced = setTimeout(() => process.exit(1), 10_000)
    forced.unref()
    agent.close().then(() => process.exit(0))
  })
}
