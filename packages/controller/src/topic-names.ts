import { ErrorCode, KafkaProtocolError } from '@fluxo/common';

/** Kafka's Topic.validate (same rules as the broker's; candidates for @fluxo/common). */
const MAX_TOPIC_NAME_LENGTH = 249;
const LEGAL = /^[a-zA-Z0-9._-]+$/;

export function validateTopicName(name: string): void {
  let error: string | null = null;
  if (name.length === 0) error = "Topic name is illegal, it can't be empty";
  else if (name === '.' || name === '..') error = 'Topic name cannot be "." or ".."';
  else if (name.length > MAX_TOPIC_NAME_LENGTH) error = `Topic name is illegal, it can't be longer than ${MAX_TOPIC_NAME_LENGTH} characters, topic name: ${name}`;
  else if (!LEGAL.test(name)) error = `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  if (error !== null) throw new KafkaProtocolError(ErrorCode.INVALID_TOPIC_EXCEPTION, error);
}

/** Kafka's Uuid text form: 16 random bytes, base64url; never the reserved ids or a leading '-'. */
export function randomTopicId(random: () => Buffer): string {
  for (;;) {
    const text = random().toString('base64url');
    if (text !== 'AAAAAAAAAAAAAAAAAAAAAA' && text !== 'AAAAAAAAAAAAAAAAAAAAAQ' && !text.startsWith('-')) return text;
  }
}
