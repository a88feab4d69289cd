import { z } from 'zod'

/** EdgeGallery's app store and app repository records; passwords are write-only. */

const Host = z.union([z.ipv4(), z.ipv6(), z.hostname()], { error: 'must be an IP address or a host name' })

export const AppStoreInput = z.object({
  appstoreIp: Host,
  appstorePort: z.coerce.number().int().min(1).max(65535),
  appstoreName: z.string().min(1).max(128),
  appstoreRepo: z.string().max(128).default(''),
  appstoreRepoName: z.string().max(128).default(''),
  appstoreRepoUserName: z.string().max(128).default(''),
  appstoreRepoPassword: z.string().max(256).optional(),
  producer: z.string().max(128).default(''),
})
export type AppStore = Omit<z.infer<typeof AppStoreInput>, 'appstoreRepoPassword'>

export const AppRepoInput = z.object({
  repoEndPoint: Host,
  repoName: z.string().min(1).max(128),
  repoUserName: z.string().max(128).default(''),
  repoPassword: z.string().max(256).optional(),
})
export type AppRepo = Omit<z.infer<typeof AppRepoInput>, 'repoPassword'>
