/** Compression codec ids of the record batch attributes (bits 0-2). */
export const Compression = {
  None: 0,
  Gzip: 1,
  Snappy: 2,
  Lz4: 3,
  Zstd: 4,
} as const;

export type CompressionCodec = (typeof Compression)[keyof typeof Compression];

const NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

/** Kafka's compression.type name of a codec id ('none', 'gzip', ...). */
export function compressionName(codec: number): string {
  return NAMES[codec] ?? `unknown(${codec})`;
}

/** Codec id of a Kafka compression.type name; undefined for 'producer' or unknown names. */
export function compressionByName(name: string): CompressionCodec | undefined {
  const i = (NAMES as readonly string[]).indexOf(name);
  return i < 0 ? undefined : (i as CompressionCodec);
}
