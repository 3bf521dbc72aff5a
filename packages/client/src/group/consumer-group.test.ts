import { ErrorCode } from '@fluxo/common';
import { describe, expect, it } from 'vitest';
import { resolveGroupSettings } from './consumer-group.js';
import { rebalanceProtocolOf } from './membership.js';

describe('group settings', () => {
  it('takes Kafka defaults', () => {
    const s = resolveGroupSettings({}, 'g');
    expect(s).toMatchObject({ sessionTimeoutMs: 45_000, heartbeatIntervalMs: 3_000, maxPollIntervalMs: 300_000, autoCommit: true, autoCommitIntervalMs: 5_000, groupInstanceId: null });
    expect(s.assignors.map((a) => a.name)).toEqual(['range', 'cooperative-sticky']);
    // range is eager-only, so the default group rebalances eagerly (Kafka 3.x default).
    expect(rebalanceProtocolOf(s.assignors)).toBe('eager');
    expect(rebalanceProtocolOf(resolveGroupSettings({ assignors: ['cooperative-sticky'] }, 'g').assignors)).toBe('cooperative');
  });

  it('rejects bad values with INVALID_CONFIG naming the key', () => {
    const bad: [Parameters<typeof resolveGroupSettings>[0], string, RegExp][] = [
      [{}, '', /groupId/],
      [{ heartbeatIntervalMs: 50_000 }, 'g', /heartbeatIntervalMs/],
      [{ assignors: [] }, 'g', /assignors/],
      [{ assignors: ['range', 'range'] }, 'g', /assignors/],
      [{ assignors: ['sticky' as 'range'] }, 'g', /unknown partition assignor "sticky"/],
      [{ autoCommitIntervalMs: 0 }, 'g', /autoCommitIntervalMs/],
      [{ groupInstanceId: '' }, 'g', /groupInstanceId/],
    ];
    for (const [options, groupId, message] of bad) {
      let error: unknown;
      try {
        resolveGroupSettings(options, groupId);
      } catch (err) {
        error = err;
      }
      expect(error, String(message)).toMatchObject({ code: ErrorCode.INVALID_CONFIG, message: expect.stringMatching(message) });
    }
  });
});
