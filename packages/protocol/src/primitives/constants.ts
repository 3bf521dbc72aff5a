/** Kafka's all-zero Uuid (Uuid.ZERO_UUID) in its base64url text form. */
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

/** Shared zero-length buffer for default `bytes` values (a zero-length Buffer cannot be mutated). */
export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);
