/**
 * The `fluxo` CLI (built dist) against a live node: topic create/list/describe/delete, produce from stdin
 * and consume --from-beginning --max-messages N, with exit codes, cross-checked against kcat.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI_MAIN, cleanupAll, CODEC_ID, IN_CI, kcatConsumeAll, kcatProduce, missingTools, runCommand, startNode,
  storedRecordsByCodec, type CommandResult, type FluxoNode,
} from '../harness/index.js';

const haveKcat = missingTools(['kcat']).length === 0 || IN_CI;

describe('fluxo CLI', () => {
  let node: FluxoNode;
  beforeAll(async () => {
    node = await startNode();
  });
  afterAll(cleanupAll);

  const fluxo = (args: string[], input?: string): Promise<CommandResult> =>
    runCommand(process.execPath, [CLI_MAIN, ...args, '-b', node.bootstrap], { timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
  const ok = async (args: string[], input?: string): Promise<string> => {
    const r = await fluxo(args, input);
    expect(r.code, `fluxo ${args.join(' ')}\nstderr: ${r.stderr}`).toBe(0);
    return r.stdout.toString('utf8');
  };

  it('topic create / list / describe / delete', async () => {
    expect(await ok(['topic', 'create', 'cli-three', '-p', '3', '-c', 'retention.ms=3600000'])).toContain('cli-three');
    const dup = await fluxo(['topic', 'create', 'cli-three', '-p', '3']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('TOPIC_ALREADY_EXISTS');
    await ok(['topic', 'create', 'cli-three', '-p', '3', '--if-not-exists']);
    await ok(['topic', 'create', 'cli-doomed']);
    expect((await ok(['topic', 'list'])).split('\n')).toEqual(expect.arrayContaining(['cli-three', 'cli-doomed']));

    const described = await ok(['topic', 'describe', 'cli-three']);
    expect(described).toMatch(/PartitionCount:\s*3/);
    const partitionRows = described.split('\n').filter((l) => /^\d+\s+1\s+1\s+1\s*$/.test(l));
    expect(partitionRows.map((l) => Number(l.split(/\s+/)[0]))).toEqual([0, 1, 2]);
    expect(described).toMatch(/retention\.ms\s+3600000\s+DYNAMIC_TOPIC_CONFIG/);

    await ok(['topic', 'delete', 'cli-doomed']);
    const after = (await ok(['topic', 'list'])).split('\n');
    expect(after).toContain('cli-three');
    expect(after).not.toContain('cli-doomed');
    const missing = await fluxo(['topic', 'describe', 'cli-doomed']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('UNKNOWN_TOPIC_OR_PARTITION');
  });

  it('bad arguments exit 2', async () => {
    expect((await fluxo(['topic', 'create'])).code).toBe(2);
    expect((await fluxo(['consume', 'x', '--max-messages', 'many'])).code).toBe(2);
  });

  for (const codec of ['none', 'zstd']) {
    it(`produce 5000 keyed lines with headers (${codec}), consume --from-beginning --max-messages 5000`, async () => {
      const topic = `cli-rt-${codec}`;
      await ok(['topic', 'create', topic, '-p', '1']);
      const lines = Array.from({ length: 5000 }, (_, i) => `key${i}|value ${i} ${'z'.repeat(i % 40)}`);
      await ok(['produce', topic, '-k', '|', '-z', codec, '--acks', 'all', '-H', 'src=cli', '-H', 'n=1'], lines.join('\n') + '\n');
      const out = await ok(['consume', topic, '--from-beginning', '--max-messages', '5000', '-f', '%o %k|%v|%h\n']);
      expect(out.split('\n').filter((l) => l.length > 0)).toEqual(lines.map((l, i) => `${i} ${l}|src=cli,n=1`));
      const byCodec = storedRecordsByCodec(node.dataDir, topic);
      expect(byCodec[CODEC_ID[codec]!] ?? 0, JSON.stringify(byCodec)).toBe(5000);
    });
  }

  describe.skipIf(!haveKcat)('cross-client with kcat', () => {
    it('kcat reads what the CLI wrote; the CLI reads what kcat wrote', async () => {
      await ok(['produce', 'cli-to-kcat', '-p', '0'], 'one\ntwo\nthree\n');
      const got = await kcatConsumeAll(node.bootstrap, 'cli-to-kcat');
      expect(got.map((m) => [m.offset, m.payload])).toEqual([[0, 'one'], [1, 'two'], [2, 'three']]);

      const lines = Array.from({ length: 1000 }, (_, i) => `from-kcat-${i}`);
      await kcatProduce(node.bootstrap, 'kcat-to-cli', { input: lines.join('\n') + '\n', codec: 'zstd', codecViaX: true });
      const out = await ok(['consume', 'kcat-to-cli', '--from-beginning', '--max-messages', '1000']);
      expect(out.split('\n').filter((l) => l.length > 0)).toEqual(lines);
    });
  });
});
