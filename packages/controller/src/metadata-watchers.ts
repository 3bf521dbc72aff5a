import { ErrorCode, KafkaProtocolError, imageToJson, type MetadataImage, type MetadataRecord } from '@fluxo/common';

export interface MetadataEvent {
  readonly index: number;
  readonly fullImage: boolean;
  readonly payload: Buffer;
}

/** One follower of the metadata log (a broker's stream). `send` returns false when it cannot keep up. */
export interface WatchSink {
  send(event: MetadataEvent): boolean;
  close(err: Error | null): void;
}

/**
 * Fans committed metadata batches out to watchers. Keeps the last `retainBatches` batches so a broker
 * reconnecting after a short gap replays only what it missed; older gaps get a full image first.
 */
export class MetadataWatchers {
  private readonly sinks = new Set<WatchSink>();
  private recent: { index: number; payload: Buffer }[] = [];
  /** Batches with index > floor are all in `recent` (or were no-ops). */
  private floor: number;

  constructor(
    private readonly maxWatchers: number,
    private readonly retainBatches: number,
    floorIndex: number,
  ) {
    this.floor = floorIndex;
  }

  get count(): number {
    return this.sinks.size;
  }

  /** Starts a watcher after `afterIndex`, given the current image and the log index it reflects. */
  add(sink: WatchSink, afterIndex: number, image: MetadataImage, appliedIndex: number): () => void {
    if (this.sinks.size >= this.maxWatchers) throw new KafkaProtocolError(ErrorCode.THROTTLING_QUOTA_EXCEEDED, `${this.maxWatchers} metadata watchers already connected`);
    let ok = true;
    if (afterIndex < this.floor) {
      ok = sink.send({ index: appliedIndex, fullImage: true, payload: Buffer.from(JSON.stringify(imageToJson(image))) });
    } else {
      for (const b of this.recent) if (ok && b.index > afterIndex) ok = sink.send({ index: b.index, fullImage: false, payload: b.payload });
    }
    if (!ok) {
      sink.close(slow());
      return () => undefined;
    }
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  applied(index: number, records: readonly MetadataRecord[]): void {
    const payload = Buffer.from(JSON.stringify(records));
    this.recent.push({ index, payload });
    if (this.recent.length > this.retainBatches) {
      const dropped = this.recent.splice(0, this.recent.length - this.retainBatches);
      this.floor = (dropped[dropped.length - 1] as { index: number }).index;
    }
    this.broadcast({ index, fullImage: false, payload });
  }

  /** The state was replaced by a snapshot: every watcher gets the full image. */
  reset(image: MetadataImage, index: number): void {
    this.recent = [];
    this.floor = index;
    this.broadcast({ index, fullImage: true, payload: Buffer.from(JSON.stringify(imageToJson(image))) });
  }

  closeAll(): void {
    for (const s of this.sinks) s.close(null);
    this.sinks.clear();
  }

  private broadcast(event: MetadataEvent): void {
    for (const s of this.sinks) {
      if (!s.send(event)) {
        this.sinks.delete(s);
        s.close(slow());
      }
    }
  }
}

function slow(): Error {
  return new KafkaProtocolError(ErrorCode.THROTTLING_QUOTA_EXCEEDED, 'metadata watcher too slow; reconnect with the last applied index');
}
