import { ErrorCode, KafkaProtocolError } from '@fluxo/common';
import { Compression } from '@fluxo/protocol';

export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export const COMPRESSION_NAMES: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** Codec id of a compression name (Kafka compression.type values; `uncompressed` is accepted for none). */
export function compressionCodec(name: CompressionName | string): number {
  switch (name) {
    case 'none':
    case 'uncompressed':
      return Compression.None;
    case 'gzip':
      return Compression.Gzip;
    case 'snappy':
      return Compression.Snappy;
    case 'lz4':
      return Compression.Lz4;
    case 'zstd':
      return Compression.Zstd;
    default:
      throw new KafkaProtocolError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `unknown compression "${name}" (use one of ${COMPRESSION_NAMES.join(', ')})`);
  }
}
