import { route, type Service } from './http'
import { type CloudState, ServiceError, type Volume } from './state'

/**
 * The part of Cinder (Block Storage API v3) the plugin touches: volumes Heat creates and attaches,
 * the gigabytes quota (Cinder's VolumeSizeExceedsAvailableQuota), and absolute limits for the KPI.
 */
export function cinder(state: CloudState) {
  function createVolume(name: string, size: number): Volume {
    const used = state.volumeGigabytesUsed()
    if (used + size > state.quota.volumeGigabytes)
      throw new ServiceError(
        413,
        'VolumeSizeExceedsAvailableQuota',
        `Requested volume or snapshot exceeds allowed gigabytes quota. Requested ${size}G, quota is ${state.quota.volumeGigabytes}G and ${used}G has been consumed.`,
      )
    const volume: Volume = { id: state.id(), name, size, status: 'available', attachedTo: null }
    state.volumes.set(volume.id, volume)
    return volume
  }

  function attach(volumeId: string, serverId: string): void {
    const volume = state.volumes.get(volumeId)
    if (!volume) throw new ServiceError(404, 'VolumeNotFound', `Volume ${volumeId} could not be found.`)
    if (volume.attachedTo)
      throw new ServiceError(400, 'InvalidVolume', `Invalid volume: volume ${volumeId} already attached`)
    Object.assign(volume, { status: 'in-use', attachedTo: serverId })
  }

  function detach(volumeId: string): void {
    const volume = state.volumes.get(volumeId)
    if (volume) Object.assign(volume, { status: 'available', attachedTo: null })
  }

  function deleteVolume(id: string): void {
    const volume = state.volumes.get(id)
    if (volume?.attachedTo)
      throw new ServiceError(
        400,
        'InvalidVolume',
        'Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots or be disassociated from snapshots after volume transfer.',
      )
    state.volumes.delete(id)
  }

  const service: Service = {
    prefix: `/volume/v3/${state.projectId}`,
    errorBody: (error) => ({
      [error.status === 404 ? 'itemNotFound' : 'badRequest']: { code: error.status, message: error.message },
    }),
    routes: [
      route('GET', '/limits', () => ({
        status: 200,
        body: {
          limits: {
            rate: [],
            absolute: {
              maxTotalVolumeGigabytes: state.quota.volumeGigabytes,
              maxTotalVolumes: 10,
              maxTotalSnapshots: 10,
              maxTotalBackups: 10,
              maxTotalBackupGigabytes: 1000,
              totalGigabytesUsed: state.volumeGigabytesUsed(),
              totalVolumesUsed: state.volumes.size,
              totalSnapshotsUsed: 0,
              totalBackupsUsed: 0,
              totalBackupGigabytesUsed: 0,
            },
          },
        },
      })),
    ],
  }
  return { service, createVolume, attach, detach, deleteVolume }
}
export type Cinder = ReturnType<typeof cinder>
