import { describe, expect, it } from 'vitest'
import { openStackConfigFromEnv, parseOpenStackConfig } from './config'

const rc = `#!/usr/bin/env bash
# an RC file as Horizon and EdgeGallery hand them out
export OS_AUTH_URL=https://cloud.example:5000/v3
export OS_USERNAME="mecm"
export OS_PASSWORD='pa$$word'
export OS_PROJECT_NAME="edge"
export OS_PROJECT_DOMAIN_NAME="Default"
export OS_USER_DOMAIN_NAME="Default"
export OS_REGION_NAME="RegionTwo"
export OS_INTERFACE=internal
`

describe('OpenStack credentials', () => {
  it('reads an RC file with a password', () => {
    expect(parseOpenStackConfig(rc)).toEqual({
      authUrl: 'https://cloud.example:5000/v3',
      region: 'RegionTwo',
      interface: 'internal',
      username: 'mecm',
      password: 'pa$$word',
      projectName: 'edge',
      projectDomainName: 'Default',
      userDomainName: 'Default',
    })
  })

  it('reads JSON with an application credential', () => {
    const config = parseOpenStackConfig(
      JSON.stringify({
        authUrl: 'http://keystone/identity',
        applicationCredentialId: 'id',
        applicationCredentialSecret: 's',
      }),
    )
    expect(config).toEqual({
      authUrl: 'http://keystone/identity',
      interface: 'public',
      applicationCredentialId: 'id',
      applicationCredentialSecret: 's',
    })
  })

  it('says what is missing', () => {
    expect(() => parseOpenStackConfig('{"authUrl": "http://keystone", "username": "u", "password": "p"}')).toThrow(
      /the OpenStack credentials are not usable \(.*needs projectName or projectId/,
    )
    expect(() => parseOpenStackConfig('{"authUrl": ')).toThrow(/not valid JSON/)
    expect(() => parseOpenStackConfig('echo nothing here')).toThrow(/authUrl/)
  })

  it('refuses an RC file that asks for the password at a prompt', () => {
    const prompting = rc.replace(
      `export OS_PASSWORD='pa$$word'`,
      'read -sr OS_PASSWORD_INPUT\nexport OS_PASSWORD=$OS_PASSWORD_INPUT',
    )
    expect(() => parseOpenStackConfig(prompting)).toThrow(
      'the RC file sets OS_PASSWORD from $OS_PASSWORD_INPUT (it asks at a prompt or reads another variable): write the value itself into the file',
    )
  })

  it('builds the JSON from OS_* variables, or nothing without OS_AUTH_URL', () => {
    expect(openStackConfigFromEnv({ HOME: '/root' })).toBeUndefined()
    const text = openStackConfigFromEnv({
      OS_AUTH_URL: 'http://keystone/v3',
      OS_APPLICATION_CREDENTIAL_ID: 'abc',
      OS_APPLICATION_CREDENTIAL_SECRET: 'xyz',
      OS_ENDPOINT_TYPE: 'publicURL',
    })
    expect(parseOpenStackConfig(text ?? '')).toEqual({
      authUrl: 'http://keystone/v3',
      interface: 'public',
      applicationCredentialId: 'abc',
      applicationCredentialSecret: 'xyz',
    })
  })
})
