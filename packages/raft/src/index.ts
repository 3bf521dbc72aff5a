export * from './types.js';
export * from './errors.js';
export * from './random.js';
export * from './conf-change.js';
export type { RaftStorage } from './storage.js';
export { MemoryStorage } from './memory-storage.js';
export type { RaftConfig } from './config.js';
export { RaftNode, type RaftStatus, type ProposalPosition } from './raft.js';
