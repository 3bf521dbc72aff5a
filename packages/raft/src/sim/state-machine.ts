import type { Entry } from '../types.js';

/** The replicated application: a hash chain over applied entries, so equal state == equal history. */
export class HashChainStateMachine {
  constructor(
    public index = 0,
    public hash = 0,
  ) {}

  apply(entry: Entry): void {
    let h = mix(this.hash ^ 0x9e3779b9, entry.index);
    h = mix(h, entry.term);
    h = mix(h, entry.type === 'confChange' ? 1 : 0);
    for (let i = 0; i < entry.data.byteLength; i++) h = mix(h, entry.data[i] as number);
    this.index = entry.index;
    this.hash = h;
  }

  encode(): Uint8Array {
    const out = new Uint8Array(12);
    const view = new DataView(out.buffer);
    view.setFloat64(0, this.index);
    view.setUint32(8, this.hash);
    return out;
  }

  static decode(data: Uint8Array): HashChainStateMachine {
    if (data.byteLength === 0) return new HashChainStateMachine();
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    return new HashChainStateMachine(view.getFloat64(0), view.getUint32(8));
  }
}

export function mix(h: number, v: number): number {
  h = Math.imul(h ^ v, 0x01000193) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}

export function hashBytes(data: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.byteLength; i++) h = mix(h, data[i] as number);
  return h;
}
