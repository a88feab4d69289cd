import { parseLabelSelector } from '@mecm/runtime'
import { describe, expect, it } from 'vitest'
import { HostBody } from './edgegallery'

describe('parseLabelSelector', () => {
  it.each([
    ['zone=south', [{ key: 'zone', op: 'in', values: ['south'] }]],
    ['zone==south', [{ key: 'zone', op: 'in', values: ['south'] }]],
    ['tier!=gold', [{ key: 'tier', op: 'notin', values: ['gold'] }]],
    ['gpu', [{ key: 'gpu', op: 'exists' }]],
    ['!legacy', [{ key: 'legacy', op: 'absent' }]],
    [
      'mecm.io/zone in (a, b),x notin (c)',
      [
        { key: 'mecm.io/zone', op: 'in', values: ['a', 'b'] },
        { key: 'x', op: 'notin', values: ['c'] },
      ],
    ],
    ['', []],
  ])('reads %j', (selector, expected) => {
    expect(parseLabelSelector(selector)).toEqual(expected)
  })

  it.each(['zone===x', 'zone in a', '=x', 'zone in (a b)', 'zone=x y'])('refuses %j with a hint', (selector) => {
    expect(() => parseLabelSelector(selector)).toThrow(/use key=value/)
  })
})

describe("EdgeGallery's host body", () => {
  it('is reshaped into ours', () => {
    expect(
      HostBody.parse({
        mechostIp: '10.0.0.1',
        mechostName: 'h',
        city: 'Xian',
        coordinates: '34.3, 108.9',
        vim: 'OpenStack',
        hwcapabilities: [{ hwType: 'NPU' }],
        mepmIp: '10.0.0.2',
      }),
    ).toEqual({
      mechostIp: '10.0.0.1',
      mechostName: 'h',
      location: { city: 'Xian', zipCode: '', address: '', coordinates: { latitude: 34.3, longitude: 108.9 } },
      labels: {},
      vim: 'openstack',
      hwCapabilities: [{ hwType: 'NPU', hwVendor: '', hwModel: '' }],
    })
  })

  it('keeps bad coordinates for validation to name', () => {
    const result = HostBody.safeParse({ mechostIp: '10.0.0.1', mechostName: 'h', coordinates: 'north pole' })
    expect(result.error?.issues[0]?.path).toEqual(['location', 'coordinates'])
  })

  it('leaves our own shape as it is', () => {
    const ours = { mechostIp: '10.0.0.1', mechostName: 'h', vim: 'kubernetes', location: { city: 'Xian' } }
    expect(HostBody.parse(ours).location.city).toBe('Xian')
  })
})

describe('label sets', () => {
  it.each(['zone in ()', 'zone in (a,)', 'zone notin ( )'])('refuse an empty member in %j', (selector) => {
    expect(() => parseLabelSelector(selector)).toThrow(/use key=value/)
  })
})
