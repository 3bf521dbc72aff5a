import { describe, expect, it } from 'vitest';
import { ReassignmentThrottle } from './reassignment-throttle.js';

describe('ReassignmentThrottle', () => {
  it('allows a second of burst, goes into debt on an oversized send, and refills at the rate', () => {
    let now = 0;
    const t = new ReassignmentThrottle(1000, () => now);
    expect(t.enabled).toBe(true);
    expect(t.available()).toBe(1000);
    t.consume(1500); // one whole batch may overdraw
    expect(t.available()).toBe(0);
    now += 400;
    expect(t.available()).toBe(0); // still 100 bytes in debt
    now += 200;
    expect(t.available()).toBe(100);
    now += 10_000;
    expect(t.available()).toBe(1000); // capped at one second of burst
  });

  it('is unlimited at rate -1 (the default)', () => {
    const t = new ReassignmentThrottle(-1, () => 0);
    expect(t.enabled).toBe(false);
    expect(t.available()).toBe(Number.POSITIVE_INFINITY);
    t.consume(1e9);
    expect(t.available()).toBe(Number.POSITIVE_INFINITY);
  });
});
