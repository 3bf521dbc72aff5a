import { apis, type HeartbeatRequest, type HeartbeatResponse } from '@fluxo/protocol';
import { defineHandler } from './api-handler.js';
import { groupsOf } from './group-common.js';

/** Heartbeat v0-4: keeps the member's session; REBALANCE_IN_PROGRESS tells it to rejoin. */
export const heartbeatHandler = defineHandler<HeartbeatRequest, HeartbeatResponse>({
  codec: apis.Heartbeat,
  minVersion: 0,
  maxVersion: 4,
  exclusive: false,
  async handle(broker, ctx, request) {
    const groupInstanceId = ctx.apiVersion >= 3 ? (request.groupInstanceId ?? null) : null;
    const errorCode = await groupsOf(broker).heartbeat(request.groupId, request.memberId, groupInstanceId, request.generationId);
    return { throttleTimeMs: 0, errorCode };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode };
  },
});
