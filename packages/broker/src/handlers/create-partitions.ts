import { ErrorCode } from '@fluxo/common';
import { apis, type CreatePartitionsRequest, type CreatePartitionsResponse } from '@fluxo/protocol';
import { defineHandler } from './api-handler.js';

/** CreatePartitions: only increases; new partitions open on this node. */
export const createPartitionsHandler = defineHandler<CreatePartitionsRequest, CreatePartitionsResponse>({
  codec: apis.CreatePartitions,
  minVersion: 0,
  maxVersion: 3,
  exclusive: true,
  async handle(broker, _ctx, request) {
    const counts = new Map<string, number>();
    for (const t of request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    const results: CreatePartitionsResponse['results'] = [];
    const reported = new Set<string>();
    for (const t of request.topics) {
      if (counts.get(t.name)! > 1) {
        if (!reported.has(t.name)) results.push({ name: t.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic in request.' });
        reported.add(t.name);
        continue;
      }
      const r = await broker.admin.createPartitions(t.name, t.count, t.assignments === null ? null : t.assignments.map((a) => a.brokerIds), request.validateOnly);
      results.push(r.ok ? { name: t.name, errorCode: ErrorCode.NONE, errorMessage: null } : { name: t.name, errorCode: r.errorCode, errorMessage: r.errorMessage });
    }
    return { throttleTimeMs: 0, results };
  },
  errorResponse(request, errorCode) {
    return { throttleTimeMs: 0, results: request.topics.map((t) => ({ name: t.name, errorCode, errorMessage: null })) };
  },
});
