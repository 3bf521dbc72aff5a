import { ErrorCode } from '@fluxo/common';
import { apis, type ApiVersionsRequest, type ApiVersionsResponse } from '@fluxo/protocol';
import { defineHandler } from './api-handler.js';
import type { HandlerRegistry } from './registry.js';

export function apiVersionsErrorResponse(registry: HandlerRegistry, errorCode: number): ApiVersionsResponse {
  return { errorCode, apiKeys: registry.advertised().map((a) => ({ ...a })), throttleTimeMs: 0 };
}

/** ApiVersions: the advertised list is derived from the handler registry (what is really implemented). */
export const apiVersionsHandler = defineHandler<ApiVersionsRequest, ApiVersionsResponse>({
  codec: apis.ApiVersions,
  minVersion: 0,
  maxVersion: 3,
  exclusive: false,
  handle(broker, ctx, request) {
    if (ctx.apiVersion >= 3) {
      // Kafka validates the client software name/version (KIP-511) and answers INVALID_REQUEST if bad.
      const valid = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;
      const name = request.clientSoftwareName ?? '';
      const version = request.clientSoftwareVersion ?? '';
      if (!valid.test(name) || !valid.test(version)) return apiVersionsErrorResponse(broker.handlers, ErrorCode.INVALID_REQUEST);
    }
    return { ...apiVersionsErrorResponse(broker.handlers, ErrorCode.NONE), supportedFeatures: [], finalizedFeaturesEpoch: -1, finalizedFeatures: [] };
  },
  errorResponse(_request, errorCode) {
    return { errorCode, apiKeys: [], throttleTimeMs: 0 };
  },
});
