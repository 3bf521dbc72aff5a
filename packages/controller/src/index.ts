export { LevelRaftStorage, type PersistWork } from './storage/level-raft-storage.js';
export { RaftTransport, type TransportLimits } from './transport/raft-transport.js';
export { ControllerNode, NotControllerError, type QuorumDescription, type CreateTopicArgs, type RegisterBrokerArgs } from './controller-node.js';
export { ControllerServer } from './grpc-server.js';
export { Controller } from './controller.js';
export { ControllerClient, type QuorumStatus } from './controller-client.js';
export {
  CONTROLLER_DEFAULTS,
  parseProcessRoles,
  parseQuorumVoters,
  resolveControllerConfig,
  voterTarget,
  type ControllerConfig,
  type ProcessRole,
  type VoterAddress,
} from './quorum-config.js';
export { fenceBrokerRecords, unfenceBrokerRecords } from './metadata/leadership.js';
export { encodeRecords, decodeRecords } from './metadata/record-codec.js';
export { MetadataFollower, type FollowerListener } from './follower/metadata-follower.js';
/** The metadata schema and image live in @fluxo/common; re-exported for callers that import it from here (test/cluster). */
export { ClusterMetadataStore, type ClusterMetadataStoreOptions } from './broker-link/cluster-metadata-store.js';
export { ControllerChannel } from './broker-link/controller-channel.js';
