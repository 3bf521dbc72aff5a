import { apis, type DeleteGroupsRequest, type DeleteGroupsResponse } from '@fluxo/protocol';
import { defineHandler } from './api-handler.js';
import { groupsOf } from './group-common.js';

/** DeleteGroups v0-2: only Empty groups (NON_EMPTY_GROUP otherwise); offsets and metadata get tombstones. */
export const deleteGroupsHandler = defineHandler<DeleteGroupsRequest, DeleteGroupsResponse>({
  codec: apis.DeleteGroups,
  minVersion: 0,
  maxVersion: 2,
  exclusive: false,
  async handle(broker, _ctx, request) {
    const results = await groupsOf(broker).deleteGroups(request.groupsNames);
    return { throttleTimeMs: 0, results };
  },
  errorResponse(request, errorCode) {
    return { throttleTimeMs: 0, results: request.groupsNames.map((groupId) => ({ groupId, errorCode })) };
  },
});
