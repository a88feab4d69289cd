import { AppPackage } from '@mecm/protocol'
import { examples } from '@mecm/protocol/examples'
import { describe, expect, it } from 'vitest'
import { checkCallbackUrl } from './callback-url'
import { passes } from './etsi-filter'

describe('checkCallbackUrl', () => {
  it.each([
    'http://127.0.0.1:8080/cb',
    'http://localhost/cb',
    'http://[::1]/cb',
    'http://169.254.169.254/latest/meta-data/',
    'http://0.0.0.0/cb',
  ])('refuses %s, which would make the center call itself or a metadata service', async (url) => {
    await expect(checkCallbackUrl(url, false)).rejects.toMatchObject({ status: 400 })
  })

  it('allows private networks, and loopback when configured', async () => {
    await expect(checkCallbackUrl('http://10.0.0.5/cb', false)).resolves.toBeUndefined()
    await expect(checkCallbackUrl('https://192.168.1.9:8443/cb', false)).resolves.toBeUndefined()
    await expect(checkCallbackUrl('http://127.0.0.1/cb', true)).resolves.toBeUndefined()
    await expect(checkCallbackUrl('ftp://10.0.0.5/cb', true)).rejects.toMatchObject({ status: 400 })
  })
})

describe('appPkgFilter', () => {
  const pkg = AppPackage.parse(examples.appPackage)

  it('lets through only packages that pass every filter', () => {
    expect(passes([], pkg)).toBe(true)
    expect(passes(['(eq,appName,face-recognition)'], pkg)).toBe(true)
    expect(passes(['(eq,appName,face-recognition)', '(eq,operationalState,DISABLED)'], pkg)).toBe(false)
    expect(passes([`(eq,id,${pkg.appPkgId})`], pkg)).toBe(true)
  })
})
