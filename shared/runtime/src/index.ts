export { ApiError, badRequest, conflict, forbidden, notFound, unauthorized } from './errors'
export { createLogger, type Level, type Logger } from './log'
export { decoyHash, hashPassword, verifyPassword } from './password'
export { invalid, problemResponse } from './problem'
