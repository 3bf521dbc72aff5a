import { ErrorCode, errorName } from '@fluxo/common';
import { apis, type FindCoordinatorRequest, type FindCoordinatorResponse, type FindCoordinatorResponseCoordinator } from '@fluxo/protocol';
import type { BrokerContext } from '../broker-context.js';
import { defineHandler } from './api-handler.js';
import { groupsOf } from './group-common.js';

const GROUP_KEY_TYPE = 0;
const TRANSACTION_KEY_TYPE = 1;

async function findOne(broker: BrokerContext, key: string, keyType: number): Promise<FindCoordinatorResponseCoordinator> {
  let errorCode: number;
  if (keyType === GROUP_KEY_TYPE) {
    // The coordinator is the leader of partition hash(group) of __consumer_offsets: on one node, this node.
    // The first lookup creates and loads the topic.
    errorCode = await groupsOf(broker).ensureReady();
  } else if (keyType === TRANSACTION_KEY_TYPE) {
    // Leader of partition hash(transactional.id) of __transaction_state: on one node, this node.
    errorCode = ErrorCode.NONE;
  } else {
    errorCode = ErrorCode.INVALID_REQUEST;
  }
  if (errorCode !== ErrorCode.NONE) {
    return { key, nodeId: -1, host: '', port: -1, errorCode, errorMessage: keyType > TRANSACTION_KEY_TYPE ? `Unknown coordinator key type ${keyType}` : errorName(errorCode) };
  }
  const self = broker.advertised();
  return { key, nodeId: broker.nodeId, host: self.host, port: self.port, errorCode: ErrorCode.NONE, errorMessage: null };
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
