import { ErrorCode, ZERO_UUID } from '@fluxo/common';
import { apis, type DeleteTopicsRequest, type DeleteTopicsResponse, type DeleteTopicsResponseDeletableTopicResult } from '@fluxo/protocol';
import { defineHandler } from './api-handler.js';

/** DeleteTopics by name (v0-5) or by name/id (v6+). Logs are removed asynchronously after the commit. */
export const deleteTopicsHandler = defineHandler<DeleteTopicsRequest, DeleteTopicsResponse>({
  codec: apis.DeleteTopics,
  minVersion: 0,
  maxVersion: 6,
  exclusive: true,
  async handle(broker, ctx, request) {
    const wanted = requestedTopics(request, ctx.apiVersion);
    const responses: DeleteTopicsResponseDeletableTopicResult[] = [];
    const done = new Set<string>();
    for (const w of wanted) {
      const image = broker.metadata.image();
      const byName = w.name !== null;
      const t = byName ? image.topics.get(w.name!) : image.topicsById.get(w.topicId);
      if (!t) {
        responses.push({
          name: w.name,
          topicId: w.topicId,
          errorCode: byName ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.UNKNOWN_TOPIC_ID,
          errorMessage: byName ? 'This server does not host this topic-partition.' : 'This server does not host this topic ID.',
        });
        continue;
      }
      if (done.has(t.topicId)) {
        responses.push({ name: t.name, topicId: t.topicId, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic in request' });
        continue;
      }
      done.add(t.topicId);
      const result = await broker.admin.deleteTopic(t.topicId);
      responses.push(
        result.ok
          ? { name: t.name, topicId: t.topicId, errorCode: ErrorCode.NONE, errorMessage: null }
          : { name: t.name, topicId: t.topicId, errorCode: result.errorCode, errorMessage: result.errorMessage },
      );
    }
    return { throttleTimeMs: 0, responses };
  },
  errorResponse(request, errorCode, version) {
    const wanted = requestedTopics(request, version);
    return { throttleTimeMs: 0, responses: wanted.map((w) => ({ name: w.name, topicId: w.topicId, errorCode, errorMessage: null })) };
  },
});

/** v0-5 name topics in TopicNames; v6+ in Topics (name or id). Decoders fill both with defaults. */
function requestedTopics(request: DeleteTopicsRequest, version: number): { name: string | null; topicId: string }[] {
  if (version >= 6) return request.topics ?? [];
  return (request.topicNames ?? []).map((name) => ({ name, topicId: ZERO_UUID }));
}
