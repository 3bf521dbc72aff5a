// Child process for the crash test: appends to a partition log in a loop (several appends in flight, so group
// commit is exercised) and prints "<offset> <value>" for every acknowledged (fsynced) append. The test kills it
// with SIGKILL mid-stream. Runs the built dist (spawned processes do not go through vitest).
import { createRegistry, silentLogger } from '@fluxo/common';
import { encodeRecordBatch } from '@fluxo/protocol';
import { DEFAULT_LOG_CONFIG, PartitionLog } from '../../dist/index.js';

const [dir, runId, segmentBytes] = process.argv.slice(2);
const log = await PartitionLog.open({
  dir,
  topic: 'crash',
  partition: 0,
  config: { ...DEFAULT_LOG_CONFIG, segmentBytes: Number(segmentBytes), indexIntervalBytes: 1024 },
  logger: silentLogger(),
  registry: createRegistry(),
});
process.stdout.write(`ready ${log.logEndOffset}\n`);
let i = 0;
const IN_FLIGHT = 16;
async function appender() {
  for (;;) {
    const value = `${runId}-${i++}-${'p'.repeat(200 + (i % 300))}`;
    const batch = encodeRecordBatch({ compression: 0, records: [{ key: null, value: Buffer.from(value), timestamp: Date.now() }] });
    const res = await log.append(batch, { leaderEpoch: 0 });
    process.stdout.write(`${res.baseOffset} ${value}\n`);
  }
}
await Promise.all(Array.from({ length: IN_FLIGHT }, appender));
