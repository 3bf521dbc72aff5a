import { ErrorCode, errorName } from '@fluxo/common';
import { apis, type FindCoordinatorRequest, type FindCoordinatorResponse, type FindCoordinatorResponseCoordinator } from '@fluxo/protocol';
import type { BrokerContext } from '../broker-context.js';
import { locateCoordinator } from '../group/coordinator-locator.js';
import { FIRST_USE_LOAD_WAIT_MS, GROUP_METADATA_TOPIC } from '../group/group-config.js';
import { defineHandler } from './api-handler.js';
import { groupsOf } from './group-common.js';

const GROUP_KEY_TYPE = 0;
const TRANSACTION_KEY_TYPE = 1;

/**
 * Kafka's group coordinator lookup: the leader of partition hash(group) of __consumer_offsets (created first if
 * missing). When that is this node, the answer waits (bounded) for the partition's groups to load, so the
 * client's next request is served rather than told COORDINATOR_LOAD_IN_PROGRESS.
 */
async function findGroupCoordinator(broker: BrokerContext, key: string): Promise<{ errorCode: number; nodeId: number; host: string; port: number }> {
  const groups = groupsOf(broker);
  const created = await groups.ensureTopic();
  if (created !== ErrorCode.NONE) return { errorCode: created, nodeId: -1, host: '', port: -1 };
  const partition = groups.partitionFor(key);
  const elected = (): boolean => broker.metadata.image().topics.get(GROUP_METADATA_TOPIC)?.partitions[partition]?.leader === broker.nodeId;
  if (elected()) await groups.awaitLoaded(key, FIRST_USE_LOAD_WAIT_MS, elected);
  const self = broker.advertised();
  const located = locateCoordinator(broker.metadata.image(), GROUP_METADATA_TOPIC, partition, { nodeId: broker.nodeId, host: self.host, port: self.port });
  if (!located.found) return { errorCode: located.errorCode, nodeId: -1, host: '', port: -1 };
  return { errorCode: ErrorCode.NONE, nodeId: located.nodeId, host: located.host, port: located.port };
}

async function findOne(broker: BrokerContext, key: string, keyType: number): Promise<FindCoordinatorResponseCoordinator> {
  let found: { errorCode: number; nodeId: number; host: string; port: number };
  if (keyType === GROUP_KEY_TYPE) {
    found = await findGroupCoordinator(broker, key);
  } else if (keyType === TRANSACTION_KEY_TYPE) {
    // Leader of partition hash(transactional.id) of __transaction_state: transactions are not served yet; this node.
    const self = broker.advertised();
    found = { errorCode: ErrorCode.NONE, nodeId: broker.nodeId, host: self.host, port: self.port };
  } else {
    found = { errorCode: ErrorCode.INVALID_REQUEST, nodeId: -1, host: '', port: -1 };
  }
  if (found.errorCode !== ErrorCode.NONE) {
    return { key, nodeId: -1, host: '', port: -1, errorCode: found.errorCode, errorMessage: keyType > TRANSACTION_KEY_TYPE ? `Unknown coordinator key type ${keyType}` : errorName(found.errorCode) };
  }
  return { key, nodeId: found.nodeId, host: found.host, port: found.port, errorCode: ErrorCode.NONE, errorMessage: null };
}

/** FindCoordinator v0-4 (v4: batched keys). */
export const findCoordinatorHandler = defineHandler<FindCoordinatorRequest, FindCoordinatorResponse>({
  codec: apis.FindCoordinator,
  minVersion: 0,
  maxVersion: 4,
  exclusive: false,
  async handle(broker, ctx, request) {
    const keyType = request.keyType ?? GROUP_KEY_TYPE;
    if (ctx.apiVersion >= 4) {
      const coordinators = await Promise.all((request.coordinatorKeys ?? []).map((key) => findOne(broker, key, keyType)));
      return { throttleTimeMs: 0, coordinators };
    }
    const c = await findOne(broker, request.key ?? '', keyType);
    return { throttleTimeMs: 0, errorCode: c.errorCode, errorMessage: c.errorMessage, nodeId: c.nodeId, host: c.host, port: c.port };
  },
  errorResponse(request, errorCode, version) {
    if (version >= 4) {
      return { throttleTimeMs: 0, coordinators: (request.coordinatorKeys ?? []).map((key) => ({ key, nodeId: -1, host: '', port: -1, errorCode, errorMessage: null })) };
    }
    return { throttleTimeMs: 0, errorCode, errorMessage: null, nodeId: -1, host: '', port: -1 };
  },
});
