import { apis, type DescribeGroupsRequest, type DescribeGroupsResponse } from '@fluxo/protocol';
import { defineHandler } from './api-handler.js';
import { groupsOf } from './group-common.js';

/** Kafka's "not requested" marker for authorized-operations fields. */
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
/** No ACLs yet: every group operation is allowed (READ 3, DELETE 6, DESCRIBE 8). */
const ALL_GROUP_OPERATIONS = [3, 6, 8].reduce((bits, op) => bits | (1 << op), 0);

/** DescribeGroups v0-5: a group the node does not know is reported Dead with no error, like Kafka. */
export const describeGroupsHandler = defineHandler<DescribeGroupsRequest, DescribeGroupsResponse>({
  codec: apis.DescribeGroups,
  minVersion: 0,
  maxVersion: 5,
  exclusive: false,
  async handle(broker, ctx, request) {
    const ops = ctx.apiVersion >= 3 && request.includeAuthorizedOperations === true ? ALL_GROUP_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED;
    const groups = await Promise.all(
      request.groups.map(async (groupId) => {
        const d = await groupsOf(broker).describeGroup(groupId);
        return {
          errorCode: d.errorCode,
          groupId,
          groupState: d.state,
          protocolType: d.protocolType,
          protocolData: d.protocolData,
          members: d.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            memberMetadata: m.metadata,
            memberAssignment: m.assignment,
          })),
          authorizedOperations: ops,
        };
      }),
    );
    return { throttleTimeMs: 0, groups };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      groups: request.groups.map((groupId) => ({ errorCode, groupId, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED })),
    };
  },
});
