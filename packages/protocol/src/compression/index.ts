import { gunzipSync, gzipSync } from 'node:zlib';
import { DecodeError, FluxoError } from '@fluxo/common';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { Compression } from './codec.js';
import { snappyCompress, snappyDecompress } from './snappy.js';
import { zstdCompress, zstdDecompress } from './zstd.js';

export { Compression, compressionByName, compressionName, type CompressionCodec } from './codec.js';
export { isXerialFramed, snappyCompress, snappyDecompress } from './snappy.js';

/** Upper bound for one decompressed batch's records: guards against decompression bombs. */
export const MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

/** Compresses a record batch's records section with `codec` (synchronous). */
export function compress(codec: number, data: Buffer): Buffer {
  switch (codec) {
    case Compression.None:
      return data;
    case Compression.Gzip:
      return gzipSync(data);
    case Compression.Snappy:
      return snappyCompress(data);
    case Compression.Lz4:
      return compressFrameSync(data);
    case Compression.Zstd:
      return zstdCompress(data);
    default:
      throw new FluxoError(`unsupported compression codec ${codec}`, 76 /* UNSUPPORTED_COMPRESSION_TYPE */);
  }
}

/**
 * Decompresses a records section (synchronous). Corrupt input throws DecodeError with CORRUPT_MESSAGE;
 * an unknown codec throws DecodeError with UNSUPPORTED_COMPRESSION_TYPE.
 */
export function decompress(codec: number, data: Buffer, maxBytes = MAX_DECOMPRESSED_BYTES): Buffer {
  if (codec === Compression.None) return data;
  // Every codec encodes even empty input into a few bytes; zero bytes can only be a corrupt batch.
  if (data.length === 0 && codec >= Compression.Gzip && codec <= Compression.Zstd) {
    throw new DecodeError(`empty ${codec} compressed records`, 2 /* CORRUPT_MESSAGE */);
  }
  let out: Buffer;
  try {
    switch (codec) {
      case Compression.Gzip:
        out = gunzipSync(data, { maxOutputLength: maxBytes });
        break;
      case Compression.Snappy:
        out = snappyDecompress(data, maxBytes);
        break;
      case Compression.Lz4:
        out = decompressFrameSync(data);
        break;
      case Compression.Zstd:
        out = zstdDecompress(data, maxBytes);
        break;
      default:
        throw new DecodeError(`unsupported compression codec ${codec}`, 76 /* UNSUPPORTED_COMPRESSION_TYPE */);
    }
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    throw new DecodeError(`corrupt ${codec} compressed records: ${(err as Error).message}`, 2 /* CORRUPT_MESSAGE */, { cause: err });
  }
  if (out.length > maxBytes) throw new DecodeError(`decompressed records exceed ${maxBytes} bytes`, 2);
  return out;
}
