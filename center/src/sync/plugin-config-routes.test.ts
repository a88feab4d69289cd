import { examples } from '@mecm/protocol/examples'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Session, type TestCenter, testCenter } from '../testing/center'
import { dialects } from '../testing/stores'

const kubeconfig = `apiVersion: v1
kind: Config
clusters: [{ name: edge, cluster: { server: 'https://10.0.0.1:6443' } }]
users: [{ name: mecm, user: { token: secret-token-123 } }]
contexts: [{ name: edge, context: { cluster: edge, user: mecm } }]
current-context: edge
`
const openrc = 'export OS_AUTH_URL=http://10.0.0.2:5000/v3\nexport OS_USERNAME=mecm\nexport OS_PASSWORD=rc-pass-456\n'

describe.each(dialects)("EdgeGallery's config upload (%s)", (dialect) => {
  let t: TestCenter
  let operator: Session
  const hosts = () => `/inventory/v1/tenants/${operator.tenantId}/mechosts`

  async function host(ip: string, vim: string) {
    const reply = await t.call('POST', hosts(), {
      token: operator.token,
      body: { ...examples.mecHostInput, mechostIp: ip, mechostName: `edge-${ip}`, vim },
    })
    expect(reply.status).toBe(201)
    return (await t.store.hosts.get(operator.tenantId, ip))?.hostId as string
  }

  async function upload(ip: string, content: string | Uint8Array, options: { part?: string; token?: string } = {}) {
    const form = new FormData()
    form.set(options.part ?? 'file', new Blob([content]), 'config')
    const response = await fetch(`${t.center.url}${hosts()}/${ip}/k8sconfig`, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.token ?? operator.token}` },
      body: form,
    })
    return { status: response.status, body: (await response.json()) as Record<string, string> }
  }
  const plugins = async (hostId: string) => (await t.store.edgeOutbox.snapshot(hostId)).state.plugins

  beforeAll(async () => {
    t = await testCenter(dialect)
    operator = await t.user('TENANT')
  })
  afterAll(() => t?.close())

  it("takes a kubeconfig for a Kubernetes host, keeps it sealed, and sends it to the edge's plugin", async () => {
    const hostId = await host('10.70.0.1', 'kubernetes')
    const reply = await upload('10.70.0.1', kubeconfig)
    expect(reply).toEqual({
      status: 200,
      body: { hostIp: '10.70.0.1', vim: 'kubernetes', configUploadStatus: 'Uploaded' },
    })
    expect(await plugins(hostId)).toEqual([{ vim: 'kubernetes', config: expect.any(String) }])
    // at rest the center holds it sealed: the token in it is nowhere in the edge's outbox
    expect(JSON.stringify(await plugins(hostId))).not.toContain('secret-token-123')

    const removed = await t.call('DELETE', `${hosts()}/10.70.0.1/k8sconfig`, { token: operator.token })
    expect(removed.body.configUploadStatus).toBe('Deleted')
    expect(await plugins(hostId)).toEqual([])
  })

  it('takes an OpenStack RC file for an OpenStack host', async () => {
    const hostId = await host('10.70.0.2', 'openstack')
    expect((await upload('10.70.0.2', openrc)).status).toBe(200)
    expect(await plugins(hostId)).toEqual([{ vim: 'openstack', config: expect.any(String) }])
    expect(JSON.stringify(await plugins(hostId))).not.toContain('rc-pass-456')
  })

  it('refuses what does not fit the host, saying why, and records nothing', async () => {
    const kube = await host('10.70.0.3', 'kubernetes')
    const cases: [string, string, RegExp][] = [
      ['10.70.0.3', 'clusters: [\n', /not valid YAML/],
      ['10.70.0.3', 'apiVersion: v1\nkind: Pod\n', /not a kubeconfig \(kind: Config\)/],
      ['10.70.0.3', kubeconfig.replace('current-context: edge', 'current-context: other'), /"other" is not one of/],
      ['10.70.0.2', kubeconfig, /neither an OpenStack RC file/],
    ]
    for (const [ip, content, detail] of cases) {
      const reply = await upload(ip, content)
      expect(reply.status, content).toBe(400)
      expect(reply.body.detail).toMatch(detail)
      expect(reply.body.detail).toContain(`host ${ip}`)
    }
    expect((await upload('10.70.0.3', kubeconfig, { part: 'configFile' })).body.detail).toContain('no "file" part')
    expect((await upload('10.70.0.3', new Uint8Array(5 * 1024 * 1024 + 1))).status).toBe(413)
    expect(await plugins(kube)).toEqual([])

    await host('10.70.0.4', 'exec')
    const exec = await upload('10.70.0.4', kubeconfig)
    expect(exec.status).toBe(409)
    expect(exec.body.detail).toContain('exec plugin')
  })

  it("is closed to guests and to other tenants' users", async () => {
    await host('10.70.0.5', 'kubernetes')
    const guest = await t.user('GUEST', operator.tenantId)
    expect((await upload('10.70.0.5', kubeconfig, { token: guest.token })).status).toBe(403)
    const stranger = await t.user('TENANT')
    expect((await upload('10.70.0.5', kubeconfig, { token: stranger.token })).status).toBe(404)
  })
})
