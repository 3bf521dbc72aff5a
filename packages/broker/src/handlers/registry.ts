import { assert } from '@fluxo/common';
import type { ApiHandler } from './api-handler.js';

export interface AdvertisedVersion {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

/**
 * Handlers by API key. The advertised range of each is the handler's range clipped to what the codec can
 * encode/decode, so ApiVersions never promises a version the wire layer cannot speak.
 */
export class HandlerRegistry {
  private readonly byKey = new Map<number, ApiHandler>();
  private readonly ranges = new Map<number, AdvertisedVersion>();

  constructor(handlers: readonly ApiHandler[]) {
    for (const h of handlers) {
      const key = h.codec.apiKey;
      assert(!this.byKey.has(key), `two handlers for api key ${key}`);
      const minVersion = Math.max(h.minVersion, h.codec.minVersion);
      const maxVersion = Math.min(h.maxVersion, h.codec.maxVersion);
      assert(minVersion <= maxVersion, `${h.codec.name}: handler versions ${h.minVersion}-${h.maxVersion} outside codec ${h.codec.minVersion}-${h.codec.maxVersion}`);
      this.byKey.set(key, h);
      this.ranges.set(key, { apiKey: key, minVersion, maxVersion });
    }
  }

  handler(apiKey: number): ApiHandler | undefined {
    return this.byKey.get(apiKey);
  }

  /** Advertised range, or undefined for an API this node does not implement. */
  range(apiKey: number): AdvertisedVersion | undefined {
    return this.ranges.get(apiKey);
  }

  supports(apiKey: number, version: number): boolean {
    const r = this.ranges.get(apiKey);
    return r !== undefined && version >= r.minVersion && version <= r.maxVersion;
  }

  /** What ApiVersions answers, sorted by API key. */
  advertised(): AdvertisedVersion[] {
    return [...this.ranges.values()].sort((a, b) => a.apiKey - b.apiKey);
  }
}
