// Child process for the idempotence crash test: one idempotent producer appending single-record batches with
// consecutive sequences from <startSeq>, several in flight (group commit), printing "<offset> <seq>" for every
// acknowledged (fsynced) append until the test SIGKILLs it. Runs the built dist.
import { createRegistry, silentLogger } from '@fluxo/common';
import { encodeRecordBatch } from '@fluxo/protocol';
import { DEFAULT_LOG_CONFIG, PartitionLog } from '../../../dist/index.js';

const [dir, producerId, startSeq, segmentBytes] = process.argv.slice(2);
const log = await PartitionLog.open({
  dir,
  topic: 'idem',
  partition: 0,
  config: { ...DEFAULT_LOG_CONFIG, segmentBytes: Number(segmentBytes) },
  logger: silentLogger(),
  registry: createRegistry(),
});
process.stdout.write(`ready ${log.logEndOffset}\n`);
const pid = Number(producerId);
let seq = Number(startSeq);
const IN_FLIGHT = 8;
async function appender() {
  for (;;) {
    const s = seq++;
    const batch = encodeRecordBatch({
      compression: 0,
      producerId: pid,
      producerEpoch: 0,
      baseSequence: s,
      records: [{ key: null, value: Buffer.from(`p${pid}-e0-s${s}`), timestamp: 1_700_000_000_000 }],
    });
    const res = await log.append(batch, { leaderEpoch: 0 });
    process.stdout.write(`${res.baseOffset} ${s}\n`);
  }
}
await Promise.all(Array.from({ length: IN_FLIGHT }, appender));
