import { ErrorCode } from '../error-codes.js';
import { KafkaProtocolError } from '../errors.js';

/** Kafka's Topic.MAX_NAME_LENGTH: 255 minus room for the partition suffix and `-delete` markers. */
export const MAX_TOPIC_NAME_LENGTH = 249;
const LEGAL = /^[a-zA-Z0-9._-]+$/;

/** Kafka's Topic.validate: the message text follows Kafka's so clients show familiar errors. */
export function topicNameError(name: string): string | null {
  if (name.length === 0) return 'Topic name is illegal, it can\'t be empty';
  if (name === '.' || name === '..') return 'Topic name cannot be "." or ".."';
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    return `Topic name is illegal, it can't be longer than ${MAX_TOPIC_NAME_LENGTH} characters, topic name: ${name}`;
  }
  if (!LEGAL.test(name)) return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  return null;
}

export function validateTopicName(name: string): void {
  const error = topicNameError(name);
  if (error !== null) throw new KafkaProtocolError(ErrorCode.INVALID_TOPIC_EXCEPTION, error);
}

/** '.' and '_' collide in metric names, so Kafka refuses a topic that differs from another only there. */
export function unifyCollisionChars(name: string): string {
  return name.replace(/\./g, '_');
}
