export { type Archive, type ArchiveLimits, defaultLimits, openArchive } from './archive'
export { type AppdSpec, appdTemplate, type PackageSpec, type VmTopologySpec, writePackage } from './build'
export { type PackageContent, type ReadOptions, readPackage } from './csar'
export { PackageError } from './package-error'
export { unpackPackage } from './unpack'
export {
  type ConnectionPoint,
  readVnfTopology,
  type SecurityRule,
  type StorageNode,
  type VduNode,
  type VirtualLinkNode,
  type VnfTopology,
  vnfTopology,
} from './vnf-topology'
export { writeZip, ZipWriter, zipBuffer } from './zip-writer'
