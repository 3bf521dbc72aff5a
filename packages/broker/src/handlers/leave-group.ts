import { ErrorCode } from '@fluxo/common';
import { apis, type LeaveGroupRequest, type LeaveGroupResponse } from '@fluxo/protocol';
import { defineHandler } from './api-handler.js';
import { groupsOf } from './group-common.js';

/** LeaveGroup v0-4 (v3+: a batch of members, by member id or group.instance.id). */
export const leaveGroupHandler = defineHandler<LeaveGroupRequest, LeaveGroupResponse>({
  codec: apis.LeaveGroup,
  minVersion: 0,
  maxVersion: 4,
  exclusive: false,
  async handle(broker, ctx, request) {
    const batch = ctx.apiVersion >= 3;
    const leaving = batch
      ? (request.members ?? []).map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId }))
      : [{ memberId: request.memberId ?? '', groupInstanceId: null }];
    const r = await groupsOf(broker).leaveGroup(request.groupId, leaving);
    if (!batch) {
      // v0-2: one member; its error is the response's.
      const errorCode = r.errorCode !== ErrorCode.NONE ? r.errorCode : (r.members[0]?.errorCode ?? ErrorCode.NONE);
      return { throttleTimeMs: 0, errorCode };
    }
    return { throttleTimeMs: 0, errorCode: r.errorCode, members: r.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: m.errorCode })) };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, members: [] };
  },
});
