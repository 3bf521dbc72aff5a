import { ErrorCode, KafkaProtocolError } from '@fluxo/common';

/** One API's version range, as a broker advertises it in ApiVersions. */
export interface VersionRange {
  minVersion: number;
  maxVersion: number;
}

/**
 * The versions of each API this client's request builders and response handlers are written for.
 * Kept below the versions that switch topics to ids (Fetch v13, Metadata v10 lookups by id) and below
 * unstable tops; the codec may know more, the client only uses what it was written against.
 */
export const CLIENT_API_VERSIONS: ReadonlyMap<number, VersionRange> = new Map([
  [0, { minVersion: 3, maxVersion: 9 }], // Produce: v3+ carries v2 record batches
  [1, { minVersion: 4, maxVersion: 12 }], // Fetch: v4+ isolation level and v2 batches; v13 uses topic ids
  [2, { minVersion: 1, maxVersion: 7 }], // ListOffsets
  [3, { minVersion: 1, maxVersion: 12 }], // Metadata: v1+ allows a null topic list (all topics)
  [8, { minVersion: 2, maxVersion: 8 }], // OffsetCommit: v9 is the KIP-848 protocol
  [9, { minVersion: 2, maxVersion: 7 }], // OffsetFetch: v2+ null topics = all; v8 batches groups
  [10, { minVersion: 0, maxVersion: 4 }], // FindCoordinator: v4+ batches keys
  [11, { minVersion: 0, maxVersion: 8 }], // JoinGroup: v4+ MEMBER_ID_REQUIRED, v5+ static members
  [12, { minVersion: 0, maxVersion: 4 }], // Heartbeat
  [13, { minVersion: 0, maxVersion: 5 }], // LeaveGroup: v3+ names members
  [14, { minVersion: 0, maxVersion: 5 }], // SyncGroup
  [15, { minVersion: 0, maxVersion: 5 }], // DescribeGroups
  [16, { minVersion: 0, maxVersion: 4 }], // ListGroups: v4+ state filter
  [18, { minVersion: 0, maxVersion: 3 }], // ApiVersions
  [19, { minVersion: 0, maxVersion: 7 }], // CreateTopics
  [20, { minVersion: 0, maxVersion: 5 }], // DeleteTopics: v6 names topics by id
  [21, { minVersion: 0, maxVersion: 2 }], // DeleteRecords
  [22, { minVersion: 0, maxVersion: 4 }], // InitProducerId: v3+ bumps the epoch of a known producer (KIP-360); v5 is transactions v2
  [32, { minVersion: 0, maxVersion: 4 }], // DescribeConfigs
  [33, { minVersion: 0, maxVersion: 2 }], // AlterConfigs
  [37, { minVersion: 0, maxVersion: 3 }], // CreatePartitions
  [42, { minVersion: 0, maxVersion: 2 }], // DeleteGroups
  [44, { minVersion: 0, maxVersion: 1 }], // IncrementalAlterConfigs
  [47, { minVersion: 0, maxVersion: 0 }], // OffsetDelete
]);

/**
 * Highest version both sides support, or null when the ranges do not overlap. `codec` is what the protocol
 * package can encode, `client` what this client was written for, `broker` what the broker advertised.
 */
export function pickVersion(client: VersionRange, codec: VersionRange, broker: VersionRange): number | null {
  const max = Math.min(client.maxVersion, codec.maxVersion, broker.maxVersion);
  const min = Math.max(client.minVersion, codec.minVersion, broker.minVersion);
  return max >= min ? max : null;
}

export function unsupportedApi(apiName: string, broker: string): KafkaProtocolError {
  return new KafkaProtocolError(
    ErrorCode.UNSUPPORTED_VERSION,
    `broker ${broker} supports no version of ${apiName} that this client can use (UNSUPPORTED_VERSION)`,
  );
}
