import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { loadConfig } from './config'

describe('loadConfig', () => {
  it('has defaults a newcomer can run with', () => {
    expect(loadConfig([], {})).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      dataDir: './data',
      databaseUrl: undefined,
      logLevel: 'info',
    })
  })

  it('takes flags over the environment', () => {
    const config = loadConfig(['--listen', '[::1]:9000', '--data-dir', '/var/lib/mecm'], {
      MECM_LISTEN: '0.0.0.0:1',
      MECM_DATA_DIR: '/tmp/x',
      DATABASE_URL: 'postgres://db/mecm',
    })
    expect(config).toMatchObject({
      host: '::1',
      port: 9000,
      dataDir: '/var/lib/mecm',
      databaseUrl: 'postgres://db/mecm',
    })
  })

  it('says what is wrong with a bad setting', () => {
    expect(() => loadConfig([], { DATABASE_URL: 'mysql://x' })).toThrow('DATABASE_URL must start with postgres://')
    expect(() => loadConfig([], { MECM_MASTER_KEY: 'short' })).toThrow('MECM_MASTER_KEY must be 32 bytes in base64')
    expect(() => loadConfig([], { MECM_LISTEN: '127.0.0.1:http' })).toThrow('invalid configuration')
    expect(() => loadConfig(['--no-such-flag'], {})).toThrow()
    expect(loadConfig([], { MECM_MASTER_KEY: randomBytes(32).toString('base64') }).masterKey).toBeDefined()
  })
})
