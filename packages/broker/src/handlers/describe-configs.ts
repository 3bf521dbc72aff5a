import { ErrorCode } from '@fluxo/common';
import { apis, type DescribeConfigsRequest, type DescribeConfigsResponse, type DescribeConfigsResponseResult } from '@fluxo/protocol';
import type { BrokerContext } from '../broker-context.js';
import { ConfigSource, describeBrokerConfigs, describeTopicConfigs, type DescribedConfig } from '../config/describe-config.js';
import { ResourceType } from './config-resources.js';
import { defineHandler } from './api-handler.js';

/** DescribeConfigs for topics (overrides over broker defaults) and this broker (static config). */
export const describeConfigsHandler = defineHandler<DescribeConfigsRequest, DescribeConfigsResponse>({
  codec: apis.DescribeConfigs,
  minVersion: 0,
  maxVersion: 4,
  exclusive: false,
  handle(broker, ctx, request) {
    const v = ctx.apiVersion;
    const results = request.resources.map((resource): DescribeConfigsResponseResult => {
      const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
      const described = describe(broker, resource.resourceType, resource.resourceName);
      if ('errorCode' in described) return { ...base, errorCode: described.errorCode, errorMessage: described.errorMessage, configs: [] };
      const keys = resource.configurationKeys === null ? null : new Set(resource.configurationKeys);
      const configs = described.configs
        .filter((c) => keys === null || keys.has(c.name))
        .map((c) => ({
          name: c.name,
          value: c.value,
          readOnly: c.readOnly,
          isDefault: resource.resourceType === ResourceType.TOPIC ? c.source !== ConfigSource.DYNAMIC_TOPIC_CONFIG : c.source === ConfigSource.DEFAULT_CONFIG,
          configSource: c.source,
          isSensitive: c.isSensitive,
          synonyms: v >= 1 && request.includeSynonyms === true ? c.synonyms.map((s) => ({ ...s })) : [],
          configType: c.configType,
          documentation: v >= 3 && request.includeDocumentation === true ? c.documentation : null,
        }));
      return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs };
    });
    return { throttleTimeMs: 0, results };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      results: request.resources.map((r) => ({ errorCode, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName, configs: [] })),
    };
  },
});

function describe(broker: BrokerContext, resourceType: number, name: string): { configs: DescribedConfig[] } | { errorCode: number; errorMessage: string } {
  if (resourceType === ResourceType.TOPIC) {
    const topic = broker.metadata.image().topics.get(name);
    if (!topic) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `Topic '${name}' does not exist.` };
    return { configs: describeTopicConfigs(broker.config, topic.configs) };
  }
  if (resourceType === ResourceType.BROKER) {
    // "" is the cluster-wide dynamic default: none are set (no dynamic broker configs yet).
    if (name === '') return { configs: [] };
    if (name !== String(broker.nodeId)) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unexpected broker id, expected ${broker.nodeId}, but received ${name}` };
    return { configs: describeBrokerConfigs(broker.config) };
  }
  if (resourceType === ResourceType.BROKER_LOGGER) {
    return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Broker logger configs are not supported' };
  }
  return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unsupported resource type ${resourceType}` };
}
