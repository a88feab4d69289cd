/** Structured logs: one JSON object per line on stdout (stderr for errors). */
export type Level = 'debug' | 'info' | 'warn' | 'error'
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  /** The same logger with these fields on every line. */
  child(fields: Record<string, unknown>): Logger
}

export function createLogger(
  level: Level | 'silent' = 'info',
  base: Record<string, unknown> = {},
  write: (line: string, level: Level) => void = (line, at) =>
    (at === 'error' ? process.stderr : process.stdout).write(`${line}\n`),
): Logger {
  const emit =
    (at: Level) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      if (level === 'silent' || order[at] < order[level]) return
      write(JSON.stringify({ time: new Date().toISOString(), level: at, msg, ...base, ...fields }), at)
    }
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  }
}
