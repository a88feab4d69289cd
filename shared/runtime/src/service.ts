import { createLogger, type Level, type Logger } from './log'

/**
 * Runs a long-lived process: reads its configuration (exit 2 with the reason when it is wrong),
 * starts it (exit 1 when that fails), and closes it on SIGINT or SIGTERM (exit 0; 1 when closing
 * takes over 10 s).
 */
export async function runService<C extends { logLevel: Level | 'silent' }>(
  name: string,
  load: () => C,
  start: (config: C, log: Logger) => Promise<{ close(): Promise<void> }>,
): Promise<void> {
  let config: C
  try {
    config = load()
  } catch (error) {
    console.error((error as Error).message)
    process.exit(2)
  }
  const log = createLogger(config.logLevel, { component: name })
  const service = await start(config, log).catch((error: Error) => {
    log.error(`${name} failed to start`, { error: error.message })
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
      service.close().then(() => process.exit(0))
    })
  }
}
