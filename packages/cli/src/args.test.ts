import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseAcks, parseCommandArgs, parseInteger, parseKeyValueList, parseKeyValues, requirePositionals } from './args.js';
import { describeError, EXIT_USAGE, UsageError } from './cli-error.js';
import { parseOffsetOption } from './commands/consume.js';
import { lineToMessage } from './commands/produce.js';
import { findCommand, run } from './run.js';
import type { Io } from './io.js';

function capture(): { io: Io; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  return { io: { stdin: new PassThrough(), stdout, stderr }, out: () => out, err: () => err };
}

describe('argument parsing', () => {
  it('finds two-word and one-word commands', () => {
    expect(findCommand(['topic', 'create', 'x'])?.command.name).toBe('topic create');
    expect(findCommand(['topic', 'create', 'x'])?.rest).toEqual(['x']);
    expect(findCommand(['produce', 't'])?.command.name).toBe('produce');
    expect(findCommand(['topic', 'nope'])).toBeNull();
  });

  it('parses short and long options, repeats, and the bootstrap default', () => {
    const { command, rest } = findCommand(['topic', 'create', 'orders', '-p', '6', '--replication-factor', '1', '-c', 'retention.ms=1', '-c', 'cleanup.policy=compact'])!;
    const args = parseCommandArgs(command.name, rest, command.options);
    expect(args.positionals).toEqual(['orders']);
    expect(args.values).toMatchObject({
      partitions: '6',
      'replication-factor': '1',
      config: ['retention.ms=1', 'cleanup.policy=compact'],
      'bootstrap-server': '127.0.0.1:9092',
    });
    const b = parseCommandArgs(command.name, ['x', '-b', 'h:1'], command.options);
    expect(b.values['bootstrap-server']).toBe('h:1');
  });

  it('turns unknown options and missing values into usage errors naming the command', () => {
    const { command } = findCommand(['consume'])!;
    expect(() => parseCommandArgs('consume', ['t', '--bogus'], command.options)).toThrow(UsageError);
    expect(() => parseCommandArgs('consume', ['t', '--max-messages'], command.options)).toThrow(/max-messages/);
    const e = describeError(new UsageError('bad', 'consume'));
    expect(e.exitCode).toBe(EXIT_USAGE);
    expect(e.message).toContain('fluxo consume --help');
  });

  it('accepts negative numbers as option values (kcat -o -5)', () => {
    const { command } = findCommand(['consume'])!;
    expect(parseCommandArgs('consume', ['t', '--offset', '-5'], command.options).values.offset).toBe('-5');
    expect(parseCommandArgs('consume', ['t', '-o', '-5', '-n', '2'], command.options).values).toMatchObject({ offset: '-5', 'max-messages': '2' });
    expect(parseCommandArgs('consume', ['t', '--from-beginning', '-n', '1'], command.options).positionals).toEqual(['t']);
  });

  it('validates integers, key=value pairs, acks and positionals', () => {
    expect(parseInteger('12', '--x', 0)).toBe(12);
    expect(() => parseInteger('1.5', '--x')).toThrow(/integer/);
    expect(() => parseInteger('-1', '--partitions', 1)).toThrow(/between 1/);
    expect(parseKeyValues(['a=1', 'b=x=y', 'a=2'], '--set')).toEqual({ a: '2', b: 'x=y' });
    expect(() => parseKeyValues(['novalue'], '--set')).toThrow(/key=value/);
    expect(parseKeyValueList(['h=1', 'h=2'], '-H')).toEqual([
      { key: 'h', value: '1' },
      { key: 'h', value: '2' },
    ]);
    expect([parseAcks('all'), parseAcks('-1'), parseAcks('0'), parseAcks('1')]).toEqual([-1, -1, 0, 1]);
    expect(() => parseAcks('2')).toThrow(/acks/);
    expect(() => requirePositionals({ values: {}, positionals: [] }, 'topic create', ['name'])).toThrow(/missing NAME/);
    expect(() => requirePositionals({ values: {}, positionals: ['a', 'b'] }, 'topic describe', ['name'])).toThrow(/unexpected argument "b"/);
  });

  it('parses --offset and key separators', () => {
    expect(parseOffsetOption('earliest')).toBe('earliest');
    expect(parseOffsetOption('latest')).toBe('latest');
    expect(parseOffsetOption('17')).toBe(17);
    expect(parseOffsetOption('-5')).toEqual({ fromEnd: 5 });
    expect(() => parseOffsetOption('soon')).toThrow(UsageError);
    expect(lineToMessage('k:v:w', ':')).toEqual({ key: 'k', value: 'v:w' });
    expect(lineToMessage('no-sep', ':')).toEqual({ key: null, value: 'no-sep' });
    expect(lineToMessage('k::v', '::')).toEqual({ key: 'k', value: 'v' });
    expect(lineToMessage('a:b', undefined)).toEqual({ key: null, value: 'a:b' });
  });
});

describe('run()', () => {
  it('prints help for every command and exits 0', async () => {
    for (const argv of [['--help'], ['help', 'topic'], ['topic', '--help'], ['topic', 'create', '--help'], ['consume', '-h'], ['start', '--help'], ['produce', '--help']]) {
      const c = capture();
      expect(await run(argv, c.io), argv.join(' ')).toBe(0);
      expect(c.out()).toMatch(/Usage: fluxo/);
    }
  });

  it('exits 2 with a message for unknown commands and bad arguments', async () => {
    for (const argv of [['frobnicate'], ['topic', 'frob'], ['topic', 'create'], ['consume', 't', '--format', '%x'], ['produce', 't', '--acks', '7']]) {
      const c = capture();
      expect(await run(argv, c.io), argv.join(' ')).toBe(2);
      expect(c.err()).toMatch(/^fluxo: /);
    }
  });
});
