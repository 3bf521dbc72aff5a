import { createRequire } from 'node:module';
import { DecodeError } from '@fluxo/common';
import type * as ZstdBinding from 'zstd-napi/binding.js';
import zstd from 'zstd-napi';

// The native binding (CommonJS, no ESM named exports) gives frame sizes and bounded streaming decompression;
// zstd-napi's own decompress() allocates whatever size a frame header claims.
const binding = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof ZstdBinding;

const STREAM_CHUNK_BYTES = 128 * 1024;

export function zstdCompress(data: Buffer): Buffer {
  return zstd.compress(data);
}

/** Decompresses zstd frames, refusing (before allocating) more than maxBytes of output. */
export function zstdDecompress(data: Buffer, maxBytes: number): Buffer {
  let declared = 0;
  let frame = data;
  while (frame.length > 0) {
    const size = binding.getFrameContentSize(frame);
    if (size === null) return streamDecompress(data, maxBytes);
    declared += size;
    if (declared > maxBytes) throw new DecodeError(`zstd frames declare ${declared} bytes (limit ${maxBytes})`, 2);
    frame = frame.subarray(binding.findFrameCompressedSize(frame));
  }
  return zstd.decompress(data);
}

function streamDecompress(data: Buffer, maxBytes: number): Buffer {
  const dctx = new binding.DCtx();
  const chunks: Buffer[] = [];
  let total = 0;
  let input = data;
  while (input.length > 0) {
    const chunk = Buffer.allocUnsafe(STREAM_CHUNK_BYTES);
    const [, produced, consumed] = dctx.decompressStream(chunk, input);
    if (produced === 0 && consumed === 0) throw new DecodeError('zstd stream makes no progress (truncated?)', 2);
    total += produced;
    if (total > maxBytes) throw new DecodeError(`zstd output exceeds ${maxBytes} bytes`, 2);
    chunks.push(chunk.subarray(0, produced));
    input = input.subarray(consumed);
  }
  return Buffer.concat(chunks, total);
}
