import { runService } from '@mecm/runtime'
import { startAgent } from './agent'
import { loadAgentConfig } from './config'

/** `npm start -w @mecm/edge-agent`: runs the agent until SIGINT or SIGTERM. Its apps keep running. */
await runService('mepm', () => loadAgentConfig(process.argv.slice(2), process.env), startAgent)
