// Child process for the epoch/high-watermark crash test: appends with a leader epoch that rises every few
// appends (each rise rewrites leader-epoch-checkpoint), truncates now and then (rewrites it again), and
// checkpoints a rising high watermark. Prints "hw <n>" after each high-watermark checkpoint resolved. The test
// kills it with SIGKILL mid-stream. Runs the built dist.
import { createRegistry, silentLogger } from '@fluxo/common';
import { encodeRecordBatch } from '@fluxo/protocol';
import { DEFAULT_LOG_CONFIG, PartitionLog } from '../../../dist/index.js';

const [dir] = process.argv.slice(2);
const log = await PartitionLog.open({
  dir,
  topic: 'crash',
  partition: 0,
  config: { ...DEFAULT_LOG_CONFIG, segmentBytes: 32 * 1024, indexIntervalBytes: 1024 },
  logger: silentLogger(),
  registry: createRegistry(),
});
let epoch = Math.max(0, log.latestEpoch);
process.stdout.write(`ready ${log.logEndOffset}\n`);
for (let i = 0; ; i++) {
  if (i % 7 === 0) {
    epoch++;
    await log.assignEpochStart(epoch);
  }
  const appends = [];
  for (let k = 0; k < 8; k++) {
    const value = Buffer.from(`v${i}-${k}-${'p'.repeat(100 + (i % 200))}`);
    appends.push(log.append(encodeRecordBatch({ compression: 0, records: [{ key: null, value, timestamp: Date.now() }] }), { leaderEpoch: epoch }));
  }
  await Promise.all(appends);
  if (i % 23 === 22) await log.truncateTo(log.logEndOffset - 5);
  log.updateHighWatermark(log.logEndOffset - 3);
  await log.checkpointHighWatermark();
  process.stdout.write(`hw ${log.highWatermark}\n`);
}
