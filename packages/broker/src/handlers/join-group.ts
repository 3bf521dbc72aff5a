import { ErrorCode } from '@fluxo/common';
import { apis, type JoinGroupRequest, type JoinGroupResponse } from '@fluxo/protocol';
import type { JoinGroupResult } from '../group/group.js';
import { defineHandler } from './api-handler.js';
import { clientHostOf, groupsOf, untilAborted } from './group-common.js';

function toResponse(r: JoinGroupResult, version: number): JoinGroupResponse {
  return {
    throttleTimeMs: 0,
    errorCode: r.errorCode,
    generationId: r.generationId,
    protocolType: r.protocolType,
    // Nullable only from v7.
    protocolName: version >= 7 ? r.protocolName : (r.protocolName ?? ''),
    leader: r.leaderId,
    skipAssignment: r.skipAssignment,
    memberId: r.memberId,
    members: r.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata })),
  };
}

/** JoinGroup v0-7: v4+ new members get MEMBER_ID_REQUIRED first; v5+ static membership. */
export const joinGroupHandler = defineHandler<JoinGroupRequest, JoinGroupResponse>({
  codec: apis.JoinGroup,
  minVersion: 0,
  maxVersion: 7,
  exclusive: false,
  async handle(broker, ctx, request) {
    const v = ctx.apiVersion;
    const result = await untilAborted(
      groupsOf(broker).joinGroup({
        groupId: request.groupId,
        memberId: request.memberId,
        groupInstanceId: v >= 5 ? (request.groupInstanceId ?? null) : null,
        requireKnownMemberId: v >= 4,
        clientId: ctx.clientId ?? '',
        clientHost: clientHostOf(ctx.connectionId),
        // v0 has no rebalance timeout: the session timeout serves as both.
        rebalanceTimeoutMs: v >= 1 && request.rebalanceTimeoutMs !== undefined ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
        sessionTimeoutMs: request.sessionTimeoutMs,
        protocolType: request.protocolType,
        protocols: request.protocols,
      }),
      ctx.signal,
      () => ({ errorCode: ErrorCode.NOT_COORDINATOR, generationId: -1, protocolType: null, protocolName: null, leaderId: '', memberId: request.memberId, skipAssignment: false, members: [] }),
    );
    return toResponse(result, v);
  },
  errorResponse(request, errorCode, version) {
    return toResponse({ errorCode, generationId: -1, protocolType: null, protocolName: null, leaderId: '', memberId: request.memberId, skipAssignment: false, members: [] }, version);
  },
});
