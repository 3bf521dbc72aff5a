export { ProducerStateManager, type BatchHeaderSource, type BatchStart, type ClientAppendCheck } from './producer-state-manager.js';
export { ProducerEntry, BATCHES_TO_RETAIN, type BatchMetadata } from './producer-entry.js';
export { NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE, decrementSequence, inSequence, incrementSequence } from './sequence.js';
export { SNAPSHOT_SUFFIX, decodeSnapshot, encodeSnapshot, listSnapshotOffsets } from './snapshot-file.js';
