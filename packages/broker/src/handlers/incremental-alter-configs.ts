import { ErrorCode, TOPIC_CONFIG } from '@fluxo/common';
import {
  apis,
  type IncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsRequestAlterableConfig,
  type IncrementalAlterConfigsResponse,
} from '@fluxo/protocol';
import type { BrokerContext } from '../broker-context.js';
import { effectiveTopicConfig, normalizeTopicConfigs } from '../config/topic-config.js';
import { ResourceType } from './config-resources.js';
import { defineHandler } from './api-handler.js';
import { errorCodeOf } from './produce.js';

/** Kafka's AlterConfigOp.OpType. */
const OpType = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

type Outcome = { errorCode: number; errorMessage: string | null };

/** IncrementalAlterConfigs for topic configs (applied live to the partition logs via a ConfigChanged record). */
export const incrementalAlterConfigsHandler = defineHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>({
  codec: apis.IncrementalAlterConfigs,
  minVersion: 0,
  maxVersion: 1,
  exclusive: true,
  async handle(broker, _ctx, request) {
    const seen = new Map<string, number>();
    for (const r of request.resources) {
      const key = `${r.resourceType}/${r.resourceName}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    const responses: IncrementalAlterConfigsResponse['responses'] = [];
    for (const r of request.resources) {
      const base = { resourceType: r.resourceType, resourceName: r.resourceName };
      let outcome: Outcome;
      if (seen.get(`${r.resourceType}/${r.resourceName}`)! > 1) {
        outcome = { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate resource in request' };
      } else if (r.resourceType === ResourceType.TOPIC) {
        outcome = await alterTopic(broker, r.resourceName, r.configs, request.validateOnly);
      } else if (r.resourceType === ResourceType.BROKER) {
        outcome =
          r.configs.length === 0
            ? { errorCode: ErrorCode.NONE, errorMessage: null }
            : { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `Cannot update these configs dynamically: ${r.configs.map((c) => c.name).join(', ')}` };
      } else {
        outcome = { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unsupported resource type ${r.resourceType}` };
      }
      responses.push({ ...base, ...outcome });
    }
    return { throttleTimeMs: 0, responses };
  },
  errorResponse(request, errorCode) {
    return { throttleTimeMs: 0, responses: request.resources.map((r) => ({ errorCode, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName })) };
  },
});

async function alterTopic(broker: BrokerContext, name: string, ops: readonly IncrementalAlterConfigsRequestAlterableConfig[], validateOnly: boolean): Promise<Outcome> {
  const topic = broker.metadata.image().topics.get(name);
  if (!topic) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `Topic '${name}' does not exist.` };
  const names = new Set<string>();
  for (const op of ops) {
    if (names.has(op.name)) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Error due to duplicate config keys: ${op.name}` };
    names.add(op.name);
  }
  const effective = new Map(effectiveTopicConfig(broker.config, topic.configs).entries());
  const changes: Record<string, string | null> = {};
  for (const op of ops) {
    const key = TOPIC_CONFIG.key(op.name);
    if (!key) return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `Unknown topic config name: ${op.name}` };
    switch (op.configOperation) {
      case OpType.SET:
        if (op.value === null) return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `Null value not supported for topic configs: ${op.name}` };
        changes[op.name] = op.value;
        break;
      case OpType.DELETE:
        changes[op.name] = null;
        break;
      case OpType.APPEND:
      case OpType.SUBTRACT: {
        if (key.type !== 'list') return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `Config value append/subtract is not allowed for config key: ${op.name}` };
        const current = (topic.configs[op.name] ?? effective.get(op.name) ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
        const items = (op.value ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
        const next = op.configOperation === OpType.APPEND ? [...current, ...items.filter((i) => !current.includes(i))] : current.filter((c) => !items.includes(c));
        changes[op.name] = next.join(',');
        break;
      }
      default:
        return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unknown config operation ${op.configOperation}` };
    }
  }
  let normalized: Record<string, string | null>;
  try {
    normalized = normalizeTopicConfigs(changes);
  } catch (err) {
    return { errorCode: errorCodeOf(err), errorMessage: err instanceof Error ? err.message : null };
  }
  const result = await broker.admin.alterTopicConfigs(topic.topicId, normalized, validateOnly);
  return result.ok ? { errorCode: ErrorCode.NONE, errorMessage: null } : { errorCode: result.errorCode, errorMessage: result.errorMessage };
}
