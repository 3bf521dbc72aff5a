import { randomBytes } from 'node:crypto';

/** Kafka's Uuid text form: 16 bytes, base64url without padding (22 chars). */
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';
/** Reserved by Kafka for the __cluster_metadata topic. */
const METADATA_TOPIC_UUID = 'AAAAAAAAAAAAAAAAAAAAAQ';

/** Like Kafka's Uuid.randomUuid: never the reserved ids, never text starting with '-' (looks like a flag). */
export function randomUuid(): string {
  for (;;) {
    const text = randomBytes(16).toString('base64url');
    if (text !== ZERO_UUID && text !== METADATA_TOPIC_UUID && !text.startsWith('-')) return text;
  }
}

export function isUuid(text: string): boolean {
  return /^[A-Za-z0-9_-]{22}$/.test(text) && Buffer.from(text, 'base64url').length === 16;
}
