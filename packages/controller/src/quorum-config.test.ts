import { describe, expect, it } from 'vitest';
import { ConfigError } from '@fluxo/common';
import { parseProcessRoles, parseQuorumVoters, resolveControllerConfig } from './quorum-config.js';

describe('controller config', () => {
  it('parses controller.quorum.voters like Kafka', () => {
    const voters = parseQuorumVoters('1@127.0.0.1:9093, 2@host-b:9094,3@[::1]:9095');
    expect([...voters.values()]).toEqual([
      { nodeId: 1, host: '127.0.0.1', port: 9093 },
      { nodeId: 2, host: 'host-b', port: 9094 },
      { nodeId: 3, host: '[::1]', port: 9095 },
    ]);
    for (const bad of ['', '1@h', 'x@h:1', '1@h:0', '1@h:1,1@h:2']) expect(() => parseQuorumVoters(bad), bad).toThrow(ConfigError);
  });

  it('parses process.roles and checks node.id is a voter', () => {
    expect(parseProcessRoles('broker,controller')).toEqual(['broker', 'controller']);
    expect(() => parseProcessRoles('controller,zookeeper')).toThrow(/unknown role 'zookeeper'/);
    const voters = parseQuorumVoters('1@h:1,2@h:2,3@h:3');
    expect(() => resolveControllerConfig({ nodeId: 4, voters, dataDir: '/tmp/x' })).toThrow(/does not contain this node's id 4/);
    expect(() => resolveControllerConfig({ nodeId: 1, voters, dataDir: '/tmp/x', tickMs: 0 })).toThrow(/tickMs/);
    expect(resolveControllerConfig({ nodeId: 1, voters, dataDir: '/tmp/x' }).brokerSessionTimeoutMs).toBe(9000);
  });
});
