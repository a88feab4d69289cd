import type { StoredService } from '../store'
import type { FilteringCriteria, ServiceInfoBody, ServiceQuery, ServiceState, TransportInfo } from './schemas'

/** Where the API lives (MEC 011's apiRoot + apiName + apiVersion), for the links it answers with. */
const API_ROOT = '/mec_service_mgmt/v1'
export const paths = {
  service: (serInstanceId: string) => `${API_ROOT}/services/${serInstanceId}`,
  appServices: (appInstanceId: string) => `${API_ROOT}/applications/${appInstanceId}/services`,
  appService: (appInstanceId: string, serInstanceId: string) =>
    `${API_ROOT}/applications/${appInstanceId}/services/${serInstanceId}`,
  liveness: (appInstanceId: string, serInstanceId: string) =>
    `${API_ROOT}/applications/${appInstanceId}/services/${serInstanceId}/liveness`,
  subscriptions: (appInstanceId: string) => `${API_ROOT}/applications/${appInstanceId}/subscriptions`,
  subscription: (appInstanceId: string, subscriptionId: string) =>
    `${API_ROOT}/applications/${appInstanceId}/subscriptions/${subscriptionId}`,
}

/** A ServiceInfo as the registry keeps it: always with serInstanceId and transportInfo. */
export type ServiceRecord = Omit<ServiceInfoBody, 'serInstanceId' | 'state' | 'transportInfo'> & {
  serInstanceId: string
  state: ServiceState
  transportInfo: TransportInfo
}
export const recordOf = (service: StoredService) => service.record as ServiceRecord

/** Every service registered here runs on this MEC host, so it is local unless its producer says otherwise. */
const isLocal = (record: ServiceRecord) => record.isLocal ?? true

/** Whether a service answers a GET /services query. */
export function answersQuery(query: ServiceQuery, record: ServiceRecord): boolean {
  return (
    (!query.ser_instance_id || query.ser_instance_id.includes(record.serInstanceId)) &&
    (!query.ser_name || query.ser_name.includes(record.serName)) &&
    (query.ser_category_id === undefined || record.serCategory?.id === query.ser_category_id) &&
    (query.consumed_local_only === undefined || (record.consumedLocalOnly ?? false) === query.consumed_local_only) &&
    (query.is_local === undefined || isLocal(record) === query.is_local) &&
    // MEC 011: an absent scopeOfLocality means MEC_HOST
    (query.scope_of_locality === undefined || (record.scopeOfLocality ?? 'MEC_HOST') === query.scope_of_locality)
  )
}

/** Whether a subscription's filteringCriteria select a service (absent criteria select all; all of them must hold). */
export function selects(criteria: FilteringCriteria | undefined, record: ServiceRecord): boolean {
  if (!criteria) return true
  return (
    (!criteria.serInstanceIds || criteria.serInstanceIds.includes(record.serInstanceId)) &&
    (!criteria.serNames || criteria.serNames.includes(record.serName)) &&
    (!criteria.serCategories || criteria.serCategories.some((category) => category.id === record.serCategory?.id)) &&
    (!criteria.states || criteria.states.includes(record.state)) &&
    (criteria.isLocal === undefined || isLocal(record) === criteria.isLocal)
  )
}
