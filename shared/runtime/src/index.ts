export { createLogger, type Level, type Logger } from './log'
