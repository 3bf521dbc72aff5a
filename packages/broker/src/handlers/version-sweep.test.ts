import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey, apiByKey, type ApiVersionsResponse } from '@fluxo/protocol';
import { RawClient, startTestNode, type TestNode } from '../testing/raw-client.js';
import { batchOf, createTopic, fetchBody, produceBody } from '../testing/requests.js';

/** A request body valid for every version of each API this node implements (fields outside a version are ignored). */
function bodyFor(apiKey: number, n: number): unknown {
  const topic = `sweep-${n}`;
  switch (apiKey) {
    case ApiKey.Produce:
      return produceBody('sweep', 0, batchOf([`v${n}`]), 1);
    case ApiKey.Fetch:
      return fetchBody('sweep', 0, 0);
    case ApiKey.ListOffsets:
      return { replicaId: -1, isolationLevel: 0, topics: [{ name: 'sweep', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 }] }] };
    case ApiKey.Metadata:
      return { topics: [{ name: 'sweep', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: true, includeTopicAuthorizedOperations: true };
    case ApiKey.ApiVersions:
      return { clientSoftwareName: 'sweep', clientSoftwareVersion: '1' };
    case ApiKey.CreateTopics:
      return { topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false };
    case ApiKey.DeleteTopics:
      return { topicNames: ['never-there'], topics: [{ name: 'never-there', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], timeoutMs: 5000 };
    case ApiKey.DeleteRecords:
      return { topics: [{ name: 'sweep', partitions: [{ partitionIndex: 0, offset: 0 }] }], timeoutMs: 5000 };
    case ApiKey.DescribeConfigs:
      return { resources: [{ resourceType: 2, resourceName: 'sweep', configurationKeys: null }, { resourceType: 4, resourceName: '1', configurationKeys: null }], includeSynonyms: true, includeDocumentation: true };
    case ApiKey.IncrementalAlterConfigs:
      return { resources: [{ resourceType: 2, resourceName: 'sweep', configs: [{ name: 'retention.ms', configOperation: 0, value: '86400000' }] }], validateOnly: false };
    case ApiKey.CreatePartitions:
      return { topics: [{ name: 'sweep-parts', count: n + 2, assignments: null }], timeoutMs: 5000, validateOnly: false };
    default:
      return undefined;
  }
}

describe('every advertised version of every implemented API', () => {
  let node: TestNode;
  let c: RawClient;
  beforeAll(async () => {
    node = await startTestNode();
    c = await RawClient.connect(node.port);
    await createTopic(c, 'sweep');
    await createTopic(c, 'sweep-parts');
  });
  afterAll(async () => {
    c.close();
    await node.cleanup();
  });

  it('decodes the request and encodes a response that decodes', async () => {
    const advertised = (await c.request<ApiVersionsResponse>(ApiKey.ApiVersions, 3, { clientSoftwareName: 'sweep', clientSoftwareVersion: '1' })).apiKeys;
    let n = 0;
    let checked = 0;
    for (const range of advertised) {
      const codec = apiByKey(range.apiKey)!;
      // Never more than the codec can speak.
      expect(range.maxVersion).toBeLessThanOrEqual(codec.maxVersion);
      expect(range.minVersion).toBeGreaterThanOrEqual(codec.minVersion);
      for (let v = range.minVersion; v <= range.maxVersion; v++) {
        const body = bodyFor(range.apiKey, n++);
        if (body === undefined) continue; // another component's API (e.g. groups): covered by its own tests
        const res = await c.request<Record<string, unknown>>(range.apiKey, v, body);
        expect(res, `${codec.name} v${v}`).toBeTypeOf('object');
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(60);
  });
});
