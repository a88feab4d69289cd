import { runService } from '@mecm/runtime'
import { loadConfig } from './config'
import { startCenter } from './server'

/** `npm start -w @mecm/center -- --listen 0.0.0.0:8080`: runs the center until SIGINT or SIGTERM. */
await runService('mecm', () => loadConfig(process.argv.slice(2), process.env), startCenter)
