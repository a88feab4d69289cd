import { describe, expect, it } from 'vitest'
import { loadAgentConfig } from './config'

describe('the agent configuration', () => {
  it('reads the plugin settings and the graceful timeout from the environment, with defaults', () => {
    const defaults = loadAgentConfig([], {})
    expect(defaults).toMatchObject({ vim: 'exec', gracefulTimeoutMs: 10_000, openstackEnv: {} })
    const set = loadAgentConfig([], {
      MEPM_VIM: 'openstack',
      MEPM_GRACEFUL_TIMEOUT_MS: '2500',
      OS_AUTH_URL: 'https://keystone.example/v3',
      OS_USERNAME: 'mecm',
      HOME: '/root',
    })
    expect(set).toMatchObject({
      vim: 'openstack',
      gracefulTimeoutMs: 2500,
      openstackEnv: { OS_AUTH_URL: 'https://keystone.example/v3', OS_USERNAME: 'mecm' },
    })
    expect(Object.keys(set.openstackEnv)).not.toContain('HOME')
  })

  it('refuses a bad value, naming the setting', () => {
    expect(() => loadAgentConfig([], { MEPM_GRACEFUL_TIMEOUT_MS: '-1' })).toThrow(/gracefulTimeoutMs/)
    expect(() => loadAgentConfig([], { MEPM_VIM: 'vmware' })).toThrow(/vim/)
  })
})
