import { ErrorCode } from '@fluxo/common';
import { apis, type SyncGroupRequest, type SyncGroupResponse } from '@fluxo/protocol';
import { defineHandler } from './api-handler.js';
import { groupsOf, untilAborted } from './group-common.js';

const EMPTY = Buffer.alloc(0);

/** SyncGroup v0-5: the leader's assignment is stored, then every member gets its own. */
export const syncGroupHandler = defineHandler<SyncGroupRequest, SyncGroupResponse>({
  codec: apis.SyncGroup,
  minVersion: 0,
  maxVersion: 5,
  exclusive: false,
  async handle(broker, ctx, request) {
    const v = ctx.apiVersion;
    const r = await untilAborted(
      groupsOf(broker).syncGroup({
        groupId: request.groupId,
        generationId: request.generationId,
        memberId: request.memberId,
        groupInstanceId: v >= 3 ? (request.groupInstanceId ?? null) : null,
        protocolType: v >= 5 ? (request.protocolType ?? null) : null,
        protocolName: v >= 5 ? (request.protocolName ?? null) : null,
        assignments: request.assignments,
      }),
      ctx.signal,
      () => ({ errorCode: ErrorCode.NOT_COORDINATOR, protocolType: null, protocolName: null, assignment: EMPTY }),
    );
    return { throttleTimeMs: 0, errorCode: r.errorCode, protocolType: r.protocolType, protocolName: r.protocolName, assignment: r.assignment };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
  },
});
