import type { ConsumerRecord } from '@fluxo/client';
import { describe, expect, it } from 'vitest';
import { compileFormat, DEFAULT_FORMAT, renderJson } from './format.js';

const record: ConsumerRecord = {
  topic: 'orders',
  partition: 2,
  offset: 42,
  timestamp: 1700000000123,
  key: Buffer.from('k1'),
  value: Buffer.from('hello'),
  headers: [
    { key: 'a', value: Buffer.from('1') },
    { key: 'b', value: null },
  ],
};
const nulls: ConsumerRecord = { ...record, key: null, value: null, headers: [] };

describe('compileFormat', () => {
  it('renders the default %v\\n', () => {
    expect(compileFormat(DEFAULT_FORMAT)(record).toString()).toBe('hello\n');
  });

  it('renders every kcat token and escape', () => {
    const render = compileFormat('%t|%p|%o|%k|%K|%v|%s|%S|%T|%h|%%\\t\\\\end\\n');
    expect(render(record).toString()).toBe('orders|2|42|k1|2|hello|hello|5|1700000000123|a=1,b=|%\t\\end\n');
  });

  it('prints null keys and values as nothing and their lengths as -1', () => {
    expect(compileFormat('[%k][%v][%K][%S][%h]')(nulls).toString()).toBe('[][][-1][-1][]');
  });

  it('passes binary values through unchanged', () => {
    const binary = { ...record, value: Buffer.from([0, 255, 10, 128]) };
    expect(compileFormat('%v')(binary)).toEqual(Buffer.from([0, 255, 10, 128]));
  });

  it('keeps unknown backslash sequences literally and rejects unknown tokens', () => {
    expect(compileFormat('a\\qb')(record).toString()).toBe('a\\qb');
    expect(() => compileFormat('%x')).toThrow(/unknown token %x/);
    expect(() => compileFormat('abc%')).toThrow(/lone %/);
  });

  it('renders json lines', () => {
    expect(JSON.parse(renderJson(record).toString())).toEqual({
      topic: 'orders',
      partition: 2,
      offset: 42,
      timestamp: 1700000000123,
      key: 'k1',
      value: 'hello',
      headers: [
        { key: 'a', value: '1' },
        { key: 'b', value: null },
      ],
    });
    expect(compileFormat('json')(nulls).toString()).toMatch(/"key":null,"value":null/);
    expect(renderJson(record).toString().endsWith('\n')).toBe(true);
  });
});
