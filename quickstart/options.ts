import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

export const USAGE = `npm start [-- options]: a center, one local edge agent and the hello-exec sample app.

  --data DIR          state and logs                  MECM_QUICKSTART_DIR   (./data)
  --center-port N     the center's port               MECM_PORT             (8080)
  --agent-port N      the edge agent's local API port MEPM_PORT             (8090)
  --app-port N        the port hello-exec listens on  MECM_APP_PORT         (8081)
  -h, --help          this text

Everything listens on 127.0.0.1. Run it again to pick up where it was: the same admin password,
host, package and app instance. Ctrl-C stops the center and the agent.`

export interface QuickstartOptions {
  dataDir: string
  host: string
  centerPort: number
  agentPort: number
  appPort: number
}

/** The folders and files the quickstart keeps under its data dir. */
export function layout(dataDir: string) {
  return {
    password: join(dataDir, 'admin-password'),
    lock: join(dataDir, 'quickstart.pid'),
    center: join(dataDir, 'center'),
    mepm: join(dataDir, 'mepm'),
    centerLog: join(dataDir, 'logs', 'center.log'),
    mepmLog: join(dataDir, 'logs', 'mepm.log'),
  }
}

function port(value: string, what: string): number {
  const parsed = Number(value)
  if (!/^\d+$/.test(value) || parsed < 1 || parsed > 65535) throw new Error(`${what} must be a port from 1 to 65535`)
  return parsed
}

/** Flags, then environment, then defaults; `root` is where the default ./data goes (the checkout). */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv, root: string): QuickstartOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      'center-port': { type: 'string' },
      'agent-port': { type: 'string' },
      'app-port': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help) return 'help'
  const data = values.data ?? env.MECM_QUICKSTART_DIR
  const options = {
    dataDir: data ? resolve(data) : join(root, 'data'),
    host: '127.0.0.1',
    centerPort: port(values['center-port'] ?? env.MECM_PORT ?? '8080', '--center-port (MECM_PORT)'),
    agentPort: port(values['agent-port'] ?? env.MEPM_PORT ?? '8090', '--agent-port (MEPM_PORT)'),
    appPort: port(values['app-port'] ?? env.MECM_APP_PORT ?? '8081', '--app-port (MECM_APP_PORT)'),
  }
  const ports = [options.centerPort, options.agentPort, options.appPort]
  if (new Set(ports).size !== ports.length) {
    throw new Error(`the center, agent and app ports must differ (${ports.join(', ')})`)
  }
  return options
}
