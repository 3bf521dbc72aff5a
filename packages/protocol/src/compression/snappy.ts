import { DecodeError } from '@fluxo/common';
import { compressSync, uncompressSync } from 'snappy';

/** Header of the xerial snappy-java stream framing: 0x82 'SNAPPY' 0x00, int32 version, int32 min-compatible. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;

export function isXerialFramed(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER_BYTES && data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC);
}

/** Uncompressed length announced by a raw snappy block's varint preamble (-1 when unreadable). */
function announcedLength(block: Buffer): number {
  let value = 0;
  for (let i = 0, shift = 0; i < 5 && i < block.length; i++, shift += 7) {
    const b = block[i]!;
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return value;
  }
  return -1;
}

function rawUncompress(block: Buffer, maxBytes: number): Buffer {
  // Checked before the native decoder allocates the announced size (a 5-byte block may claim 4 GiB).
  const announced = announcedLength(block);
  if (announced < 0 || announced > maxBytes) {
    throw new DecodeError(`snappy block announces ${announced} bytes (limit ${maxBytes})`, 2 /* CORRUPT_MESSAGE */);
  }
  try {
    return uncompressSync(block, { asBuffer: true }) as Buffer;
  } catch (err) {
    throw new DecodeError(`invalid snappy data: ${(err as Error).message}`, 2 /* CORRUPT_MESSAGE */, { cause: err });
  }
}

/**
 * Decompresses Kafka snappy data: raw snappy (librdkafka, Fluxo) or xerial-framed blocks
 * ([int32 compressed length][raw snappy block]...) as the Java client and kafka-python send.
 */
export function snappyDecompress(data: Buffer, maxBytes: number): Buffer {
  if (!isXerialFramed(data)) return rawUncompress(data, maxBytes);
  const blocks: Buffer[] = [];
  let offset = XERIAL_HEADER_BYTES;
  let total = 0;
  while (offset < data.length) {
    if (data.length - offset < 4) throw new DecodeError('truncated xerial snappy block length', 2);
    const len = data.readInt32BE(offset);
    offset += 4;
    if (len < 0 || len > data.length - offset) throw new DecodeError(`invalid xerial snappy block length ${len}`, 2);
    const block = rawUncompress(data.subarray(offset, offset + len), maxBytes - total);
    total += block.length;
    blocks.push(block);
    offset += len;
  }
  return blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks);
}

/** Raw snappy (what librdkafka sends; every Kafka client reads it). */
export function snappyCompress(data: Buffer): Buffer {
  return compressSync(data);
}
