import { z } from 'zod'

/** MEC 011 data types of the service management API (v2.1.1, liveness from v2.2.1). */

/** SUSPENDED (v2.2.1) is set by the platform when a service misses its heartbeats. */
export const ServiceState = z.enum(['ACTIVE', 'INACTIVE', 'SUSPENDED'])
export type ServiceState = z.infer<typeof ServiceState>
const LocalityType = z.enum(['MEC_SYSTEM', 'MEC_HOST', 'NFVI_POP', 'ZONE', 'ZONE_GROUP', 'NFVI_NODE'])

const CategoryRef = z.object({ href: z.string(), id: z.string(), name: z.string(), version: z.string() })

export const TransportInfo = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  description: z.string().optional(),
  type: z.enum(['REST_HTTP', 'MB_TOPIC_BASED', 'MB_ROUTING', 'MB_PUBSUB', 'RPC', 'RPC_STREAMING', 'WEBSOCKET']),
  protocol: z.string().min(1),
  version: z.string(),
  endpoint: z.union([
    z.object({ uris: z.array(z.string()) }),
    z.object({ addresses: z.array(z.object({ host: z.string().min(1), port: z.number().int().min(0).max(65535) })) }),
    z.object({ alternative: z.record(z.string(), z.unknown()) }),
  ]),
  security: z.object({
    oAuth2Info: z
      .object({
        grantTypes: z
          .array(
            z.enum([
              'OAUTH2_AUTHORIZATION_CODE',
              'OAUTH2_IMPLICIT_GRANT',
              'OAUTH2_RESOURCE_OWNER',
              'OAUTH2_CLIENT_CREDENTIALS',
            ]),
          )
          .min(1)
          .max(4),
        tokenEndpoint: z.string(),
      })
      .optional(),
  }),
  implSpecificInfo: z.record(z.string(), z.unknown()).optional(),
})
export type TransportInfo = z.infer<typeof TransportInfo>

/**
 * A ServiceInfo a producer POSTs or PUTs. The platform assigns serInstanceId; the app sets only
 * ACTIVE or INACTIVE. It names its transport by transportId (one from GET /transports) or
 * describes it in transportInfo. Lengths are those the center keeps (MepService).
 */
export const ServiceInfoBody = z
  .object({
    serInstanceId: z.string().optional(),
    serName: z.string().min(1).max(128),
    serCategory: CategoryRef.optional(),
    version: z.string().max(32),
    state: z.enum(['ACTIVE', 'INACTIVE']),
    transportId: z.string().min(1).optional(),
    transportInfo: TransportInfo.optional(),
    serializer: z.enum(['JSON', 'XML', 'PROTOBUF3']),
    scopeOfLocality: LocalityType.optional(),
    consumedLocalOnly: z.boolean().optional(),
    isLocal: z.boolean().optional(),
    /** Seconds between heartbeats the app proposes (v2.2.1); 0 or absent: no heartbeats. */
    livenessInterval: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .optional(),
  })
  .refine((info) => (info.transportId === undefined) !== (info.transportInfo === undefined), {
    path: ['transportInfo'],
    message: 'give either transportId or transportInfo, not both and not neither',
  })
export type ServiceInfoBody = z.infer<typeof ServiceInfoBody>

const onlyOne = (names: string[]) => (value: Record<string, unknown>) =>
  names.filter((name) => value[name] !== undefined).length <= 1

const FilteringCriteria = z
  .object({
    serInstanceIds: z.array(z.string()).optional(),
    serNames: z.array(z.string()).optional(),
    serCategories: z.array(CategoryRef).optional(),
    states: z.array(ServiceState).optional(),
    isLocal: z.boolean().optional(),
  })
  .refine(onlyOne(['serInstanceIds', 'serNames', 'serCategories']), {
    message: 'serInstanceIds, serNames and serCategories are alternatives: give at most one',
  })
export type FilteringCriteria = z.infer<typeof FilteringCriteria>

const SUBSCRIPTION_TYPE = 'SerAvailabilityNotificationSubscription'

/** The request body of a subscription; `_links` is the platform's to set. */
export const SerAvailabilityNotificationSubscription = z.object({
  subscriptionType: z.literal(SUBSCRIPTION_TYPE),
  callbackReference: z.url({ protocol: /^https?$/ }),
  filteringCriteria: FilteringCriteria.optional(),
})

/** A heartbeat (v2.2.1 ServiceLivenessUpdate). */
export const ServiceLivenessUpdate = z.object({
  state: z.literal('ACTIVE', { message: 'a heartbeat sets state to ACTIVE' }),
})

const BooleanParam = z.enum(['true', 'false']).transform((value) => value === 'true')

/** The query of GET /services and GET /applications/{appInstanceId}/services. */
export const ServiceQuery = z
  .object({
    ser_instance_id: z.array(z.string().min(1)).optional(),
    ser_name: z.array(z.string().min(1)).optional(),
    ser_category_id: z.string().min(1).optional(),
    consumed_local_only: BooleanParam.optional(),
    is_local: BooleanParam.optional(),
    scope_of_locality: LocalityType.optional(),
  })
  .refine(onlyOne(['ser_instance_id', 'ser_name', 'ser_category_id']), {
    message: 'ser_instance_id, ser_name and ser_category_id are alternatives: give at most one',
  })
export type ServiceQuery = z.infer<typeof ServiceQuery>
