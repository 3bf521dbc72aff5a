import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../error-codes.js';
import { MAX_TOPIC_NAME_LENGTH, topicNameError, unifyCollisionChars, validateTopicName } from './topic-names.js';
import { ZERO_UUID, isUuid, randomUuid } from './uuid.js';

describe('topic names', () => {
  it('follows Kafka Topic.validate', () => {
    expect(topicNameError('orders.v1_x-y')).toBeNull();
    expect(topicNameError('a'.repeat(MAX_TOPIC_NAME_LENGTH))).toBeNull();
    expect(topicNameError('a'.repeat(MAX_TOPIC_NAME_LENGTH + 1))).toMatch(/longer than 249/);
    expect(topicNameError('')).toMatch(/empty/);
    expect(topicNameError('..')).toMatch(/cannot be/);
    expect(topicNameError('a b')).toMatch(/illegal/);
    expect(() => validateTopicName('a/b')).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_TOPIC_EXCEPTION }));
    expect(unifyCollisionChars('a.b_c')).toBe('a_b_c');
  });

  it('makes Kafka Uuids', () => {
    const id = randomUuid();
    expect(isUuid(id)).toBe(true);
    expect(id).not.toBe(ZERO_UUID);
    expect(isUuid('short')).toBe(false);
  });
});
