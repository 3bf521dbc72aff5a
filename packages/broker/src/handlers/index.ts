import type { ApiHandler } from './api-handler.js';
import { apiVersionsHandler } from './api-versions.js';
import { createPartitionsHandler } from './create-partitions.js';
import { createTopicsHandler } from './create-topics.js';
import { deleteRecordsHandler } from './delete-records.js';
import { deleteTopicsHandler } from './delete-topics.js';
import { describeConfigsHandler } from './describe-configs.js';
import { describeQuorumHandler } from './describe-quorum.js';
import { electLeadersHandler } from './elect-leaders.js';
import { alterPartitionReassignmentsHandler } from './alter-partition-reassignments.js';
import { listPartitionReassignmentsHandler } from './list-partition-reassignments.js';
import { fetchHandler } from './fetch.js';
import { groupHandlers } from './group-handlers.js';
import { incrementalAlterConfigsHandler } from './incremental-alter-configs.js';
import { initProducerIdHandler } from './init-producer-id.js';
import { listOffsetsHandler } from './list-offsets.js';
import { metadataHandler } from './metadata.js';
import { offsetForLeaderEpochHandler } from './offset-for-leader-epoch.js';
import { produceHandler } from './produce.js';
import { HandlerRegistry } from './registry.js';

/** Every API this node implements; ApiVersions advertises exactly these. */
export function createHandlerRegistry(): HandlerRegistry {
  const handlers = [
    produceHandler,
    fetchHandler,
    listOffsetsHandler,
    offsetForLeaderEpochHandler,
    metadataHandler,
    apiVersionsHandler,
    createTopicsHandler,
    deleteTopicsHandler,
    deleteRecordsHandler,
    describeConfigsHandler,
    incrementalAlterConfigsHandler,
    createPartitionsHandler,
    initProducerIdHandler,
    describeQuorumHandler,
    electLeadersHandler,
    alterPartitionReassignmentsHandler,
    listPartitionReassignmentsHandler,
    ...groupHandlers,
  ] as unknown as ApiHandler[];
  return new HandlerRegistry(handlers);
}
