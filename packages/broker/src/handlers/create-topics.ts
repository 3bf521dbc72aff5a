import { ErrorCode, ZERO_UUID, errorName } from '@fluxo/common';
import { apis, type CreateTopicsRequest, type CreateTopicsResponse, type CreateTopicsResponseCreatableTopicResult } from '@fluxo/protocol';
import { describeTopicConfigs } from '../config/describe-config.js';
import type { BrokerContext } from '../broker-context.js';
import { defineHandler } from './api-handler.js';

/** Upper bound on how long CreateTopics waits for new partition logs to open. */
const MAX_CREATE_WAIT_MS = 30_000;

async function waitForTopics(broker: BrokerContext, names: readonly string[], timeoutMs: number, signal: AbortSignal): Promise<void> {
  const waits = names.map((n) => broker.topics.topic(n)).filter((t) => t !== undefined).map((t) => broker.topics.whenReady(t));
  if (waits.length === 0 || timeoutMs <= 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(waits),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.min(timeoutMs, MAX_CREATE_WAIT_MS));
      signal.addEventListener('abort', () => resolve(), { once: true });
    }),
  ]);
  clearTimeout(timer);
}

function errorResult(name: string, errorCode: number, errorMessage: string | null): CreateTopicsResponseCreatableTopicResult {
  return { name, topicId: ZERO_UUID, errorCode, errorMessage, topicConfigErrorCode: ErrorCode.NONE, numPartitions: -1, replicationFactor: -1, configs: null };
}

/** CreateTopics (controller API; this node is the controller). */
export const createTopicsHandler = defineHandler<CreateTopicsRequest, CreateTopicsResponse>({
  codec: apis.CreateTopics,
  minVersion: 0,
  maxVersion: 7,
  exclusive: true,
  async handle(broker, ctx, request) {
    const validateOnly = request.validateOnly === true;
    const counts = new Map<string, number>();
    for (const t of request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    const results: CreateTopicsResponseCreatableTopicResult[] = [];
    const reported = new Set<string>();
    for (const t of request.topics) {
      if (counts.get(t.name)! > 1) {
        // Kafka answers each duplicated name once, with INVALID_REQUEST.
        if (!reported.has(t.name)) results.push(errorResult(t.name, ErrorCode.INVALID_REQUEST, `Create topics request from client contains multiple entries for the topic ${t.name}`));
        reported.add(t.name);
        continue;
      }
      const configs: Record<string, string | null> = {};
      let duplicateConfig: string | null = null;
      for (const c of t.configs) {
        if (c.name in configs) duplicateConfig = c.name;
        configs[c.name] = c.value;
      }
      if (duplicateConfig !== null) {
        results.push(errorResult(t.name, ErrorCode.INVALID_REQUEST, `Duplicate config key ${duplicateConfig}`));
        continue;
      }
      const created = await broker.admin.createTopic(
        { name: t.name, numPartitions: t.numPartitions, replicationFactor: t.replicationFactor, assignments: t.assignments, configs },
        validateOnly,
      );
      if (!created.ok) {
        ctx.logger.info({ topic: t.name, error: errorName(created.errorCode), reason: created.errorMessage }, 'create topic refused');
        results.push(errorResult(t.name, created.errorCode, created.errorMessage));
        continue;
      }
      results.push({
        name: t.name,
        topicId: validateOnly ? ZERO_UUID : created.topicId,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        topicConfigErrorCode: ErrorCode.NONE,
        numPartitions: created.partitionCount,
        replicationFactor: created.replicationFactor,
        configs: describeTopicConfigs(broker.config, created.configs).map((c) => ({
          name: c.name,
          value: c.value,
          readOnly: c.readOnly,
          configSource: c.source,
          isSensitive: c.isSensitive,
        })),
      });
    }
    // Kafka answers once the controller committed the topics; waiting (up to timeoutMs) for the partition logs
    // to open as well means Metadata shows leaders right after, sparing clients a LEADER_NOT_AVAILABLE retry.
    if (!validateOnly) await waitForTopics(broker, results.filter((r) => r.errorCode === ErrorCode.NONE).map((r) => r.name), request.timeoutMs, ctx.signal);
    return { throttleTimeMs: 0, topics: results };
  },
  errorResponse(request, errorCode) {
    return { throttleTimeMs: 0, topics: request.topics.map((t) => errorResult(t.name, errorCode, null)) };
  },
});
