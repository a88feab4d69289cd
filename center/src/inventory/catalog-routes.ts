import type { Sealer } from '@mecm/runtime'
import { badRequest, notFound } from '@mecm/runtime'
import { z } from 'zod'
import type { Store } from '../db/store'
import type { Api } from '../http/route'
import { AppRepoInput, AppStoreInput } from './catalog'
import type { CatalogStore } from './catalog-store'

interface Catalog<I extends z.ZodObject, K extends keyof z.output<I>, W extends keyof z.output<I>> {
  /** URL segment: appstores, apprepos */
  segment: string
  what: string
  input: I
  key: K
  password: W
  store: CatalogStore<Omit<z.output<I>, W>>
}

/** CRUD for one admin-managed catalog: writes by ADMIN, reads by everyone; the password is write-only. */
function catalogRoutes<
  I extends z.ZodObject,
  K extends keyof z.output<I> & string,
  W extends keyof z.output<I> & string,
>(api: Api, sealer: Sealer, catalog: Catalog<I, K, W>) {
  const tag = `inventory: ${catalog.segment}`
  const base = `/inventory/v1/${catalog.segment}`
  const Key = z.object({ key: z.string().min(1).max(253) })
  const Record = catalog.input.omit({ [catalog.password]: true } as never).extend({ hasPassword: z.boolean() })
  const split = (body: z.output<I>) => {
    const { [catalog.password]: password, ...record } = body
    return { record: record as Omit<z.output<I>, W>, sealed: password ? sealer.seal(String(password)) : null }
  }
  const missing = (key: string) => notFound(`${catalog.what} ${key} not found`)

  api.add(
    {
      method: 'post',
      path: base,
      summary: `Add an ${catalog.what}`,
      tag,
      access: 'admin',
      body: catalog.input,
      responses: { 201: { description: 'added', schema: Record }, 409: { description: 'already exists' } },
    },
    async ({ c, ...input }) => {
      const body = input.body as z.output<I>
      const { record, sealed } = split(body)
      const key = String(body[catalog.key])
      await catalog.store.create(key, record, sealed)
      return c.json(await catalog.store.get(key), 201)
    },
  )

  api.add(
    {
      method: 'get',
      path: base,
      summary: `List ${catalog.what}s`,
      tag,
      access: 'read',
      responses: { 200: { description: 'all of them', schema: z.array(Record) } },
    },
    async ({ c }) => c.json(await catalog.store.list()),
  )

  api.add(
    {
      method: 'get',
      path: `${base}/:key`,
      summary: `Show an ${catalog.what}`,
      tag,
      access: 'read',
      params: Key,
      responses: { 200: { description: 'the record', schema: Record }, 404: { description: 'not found' } },
    },
    async ({ c, params }) => {
      const found = await catalog.store.get(params.key)
      if (!found) throw missing(params.key)
      return c.json(found)
    },
  )

  api.add(
    {
      method: 'put',
      path: `${base}/:key`,
      summary: `Change an ${catalog.what} (an absent password keeps the stored one)`,
      tag,
      access: 'admin',
      params: Key,
      body: catalog.input,
      responses: { 200: { description: 'changed', schema: Record }, 404: { description: 'not found' } },
    },
    async ({ c, params, ...input }) => {
      const body = input.body as z.output<I>
      if (String(body[catalog.key]) !== params.key)
        throw badRequest(`body.${catalog.key} must equal the key in the path`)
      const { record, sealed } = split(body)
      if (!(await catalog.store.update(params.key, record, sealed))) throw missing(params.key)
      return c.json(await catalog.store.get(params.key))
    },
  )

  api.add(
    {
      method: 'delete',
      path: `${base}/:key`,
      summary: `Delete an ${catalog.what}`,
      tag,
      access: 'admin',
      params: Key,
      responses: { 204: { description: 'deleted' }, 404: { description: 'not found' } },
    },
    async ({ c, params }) => {
      if (!(await catalog.store.delete(params.key))) throw missing(params.key)
      return c.body(null, 204)
    },
  )
}

export function appStoreRoutes(api: Api, sealer: Sealer, stores: Pick<Store, 'appStores' | 'appRepos'>) {
  catalogRoutes(api, sealer, {
    segment: 'appstores',
    what: 'app store',
    input: AppStoreInput,
    key: 'appstoreIp',
    password: 'appstoreRepoPassword',
    store: stores.appStores,
  })
  catalogRoutes(api, sealer, {
    segment: 'apprepos',
    what: 'app repository',
    input: AppRepoInput,
    key: 'repoEndPoint',
    password: 'repoPassword',
    store: stores.appRepos,
  })
}
