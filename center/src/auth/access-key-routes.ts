import { randomBytes } from 'node:crypto'
import { notFound } from '@mecm/runtime'
import { z } from 'zod'
import type { Api } from '../http/route'
import type { AuthDeps } from './authenticate'

const AccessKey = z.object({ accessKey: z.string(), description: z.string(), createdAt: z.string() })

const tag = 'auth'

/** Each user's AK/SK pairs for signing requests. */
export function accessKeyRoutes(api: Api, deps: AuthDeps) {
  const { store } = deps
  api.add(
    {
      method: 'post',
      path: '/auth/v1/access_keys',
      summary: 'Create an AK/SK pair for signing requests (the secret is shown only in this answer)',
      tag,
      access: 'read',
      body: z.object({ description: z.string().max(256).default('') }),
      responses: { 201: { description: 'the pair', schema: AccessKey.extend({ secretKey: z.string() }) } },
    },
    async ({ c, body, principal }) => {
      const accessKey = randomBytes(15).toString('base64url')
      const secretKey = randomBytes(32).toString('base64url')
      const key = await store.credentials.addAccessKey({
        accessKey,
        userId: principal.userId,
        secretSealed: deps.sealer.seal(secretKey),
        description: body.description,
      })
      return c.json({ ...key, secretKey }, 201)
    },
  )

  api.add(
    {
      method: 'get',
      path: '/auth/v1/access_keys',
      summary: 'List your access keys (never their secrets)',
      tag,
      access: 'read',
      responses: { 200: { description: 'your keys', schema: z.array(AccessKey) } },
    },
    async ({ c, principal }) => c.json(await store.credentials.listAccessKeys(principal.userId)),
  )

  api.add(
    {
      method: 'delete',
      path: '/auth/v1/access_keys/:accessKey',
      summary: 'Delete one of your access keys',
      tag,
      access: 'read',
      params: z.object({ accessKey: z.string().regex(/^[A-Za-z0-9_-]+$/) }),
      responses: { 204: { description: 'deleted' } },
    },
    async ({ c, params, principal }) => {
      if (!(await store.credentials.deleteAccessKey(principal.userId, params.accessKey))) {
        throw notFound(`access key ${params.accessKey} not found`)
      }
      return c.body(null, 204)
    },
  )
}
