import { apis, type ListGroupsRequest, type ListGroupsResponse } from '@fluxo/protocol';
import { defineHandler } from './api-handler.js';
import { groupsOf } from './group-common.js';

/** ListGroups v0-4 (v4: filter by state, case-insensitive). */
export const listGroupsHandler = defineHandler<ListGroupsRequest, ListGroupsResponse>({
  codec: apis.ListGroups,
  minVersion: 0,
  maxVersion: 4,
  exclusive: false,
  async handle(broker, ctx, request) {
    const r = await groupsOf(broker).listGroups(ctx.apiVersion >= 4 ? (request.statesFilter ?? []) : []);
    return { throttleTimeMs: 0, errorCode: r.errorCode, groups: r.groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.state })) };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, groups: [] };
  },
});
