import type { Socket } from 'node:net';
import { assert, type Logger } from '@fluxo/common';
import { FrameSplitter } from './frame-splitter.js';

export interface ConnectionLimits {
  /** socket.request.max.bytes: a larger frame closes the connection. */
  readonly maxRequestBytes: number;
  /** queued.max.requests: reading pauses while this many requests await their response. */
  readonly maxQueuedRequests: number;
  /** queued.max.request.bytes: reading pauses while this many request bytes await their response. */
  readonly maxQueuedRequestBytes: number;
  /** connections.max.idle.ms */
  readonly idleTimeoutMs: number;
}

/** What a request turns into once its handler finished. */
export type RequestResult =
  | { readonly kind: 'response'; readonly buffers: readonly Buffer[] }
  | { readonly kind: 'none' }
  | { readonly kind: 'close'; readonly reason: string };

/** A request decoded far enough to run: `run` may be called later (after an exclusive request finished). */
export interface PreparedRequest {
  readonly exclusive: boolean;
  run(signal: AbortSignal): Promise<RequestResult>;
}

export type PrepareOutcome = { readonly kind: 'request'; readonly request: PreparedRequest } | { readonly kind: 'close'; readonly reason: string };

/** Decodes frames into runnable requests (the API layer); the connection only orders and frames. */
export interface RequestRouter {
  prepare(frame: Buffer, connection: { readonly id: string; readonly logger: Logger }): PrepareOutcome;
}

/** How long a closing connection may take to flush its last responses before it is destroyed. */
const CLOSE_FLUSH_TIMEOUT_MS = 5_000;

interface Slot {
  result: RequestResult | null;
  readonly requestBytes: number;
}

/**
 * One client connection. Requests are decoded and started as they arrive (pipelining); responses are
 * written strictly in request order. Reading pauses while too many requests or request bytes are in flight,
 * or while the socket's write buffer is full, so one client cannot make the node buffer without bound.
 */
export class Connection {
  private readonly splitter: FrameSplitter;
  private readonly slots: Slot[] = [];
  private queuedBytes = 0;
  private writeBlocked = false;
  private paused = false;
  private closed = false;
  /** A request asked for the connection to close: later frames are ignored, earlier ones still answered. */
  private closing = false;
  private readonly abort = new AbortController();
  /** Set while an exclusive request waits or runs: later requests start after it. */
  private barrier: Promise<void> | null = null;
  private readonly running = new Set<Promise<void>>();
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    private readonly socket: Socket,
    readonly id: string,
    readonly logger: Logger,
    private readonly limits: ConnectionLimits,
    private readonly router: RequestRouter,
    private readonly onClose: (connection: Connection) => void,
  ) {
    this.splitter = new FrameSplitter(limits.maxRequestBytes);
    socket.setNoDelay(true);
    socket.setTimeout(limits.idleTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.writeBlocked = false;
      this.updateFlowControl();
    });
    socket.on('timeout', () => {
      if (this.slots.length === 0) this.close('idle timeout (connections.max.idle.ms)', 'debug');
      // Busy (a long poll): not idle; re-arm so an idle period after it still closes the connection.
      else socket.setTimeout(limits.idleTimeoutMs);
    });
    socket.on('error', (err) => this.close(`socket error: ${err.message}`, 'debug'));
    socket.on('end', () => this.close('client closed', 'debug'));
    socket.on('close', () => this.close('socket closed', 'debug'));
  }

  get inFlightRequests(): number {
    return this.slots.length;
  }

  private onData(chunk: Buffer): void {
    if (this.closed || this.closing) return;
    for (const event of this.splitter.push(chunk)) {
      if (event.kind === 'oversized') {
        this.logger.warn(
          { sizeBytes: event.sizeBytes, maxBytes: this.limits.maxRequestBytes },
          'request frame larger than socket.request.max.bytes (or negative); closing connection',
        );
        this.close('oversized frame', 'info');
        return;
      }
      this.onFrame(event.frame);
      if (this.closed || this.closing) return;
    }
  }

  private onFrame(frame: Buffer): void {
    let outcome: PrepareOutcome;
    try {
      outcome = this.router.prepare(frame, this);
    } catch (err) {
      this.logger.error({ err }, 'request preparation failed; closing connection');
      this.close('request preparation failed', 'info');
      return;
    }
    if (outcome.kind === 'close') {
      // Answer what came before, then close (Kafka closes on malformed input); read nothing more.
      this.closing = true;
      this.socket.pause();
      this.enqueue(frame.length, Promise.resolve({ kind: 'close', reason: outcome.reason }));
      return;
    }
    const request = outcome.request;
    const signal = this.abort.signal;
    let result: Promise<RequestResult>;
    if (request.exclusive) {
      const earlier = [...this.running, ...(this.barrier ? [this.barrier] : [])];
      result = Promise.allSettled(earlier).then(() => request.run(signal));
      const barrier = result.then(
        () => undefined,
        () => undefined,
      );
      this.barrier = barrier;
      void barrier.then(() => {
        if (this.barrier === barrier) this.barrier = null;
      });
    } else if (this.barrier) {
      result = this.barrier.then(() => request.run(signal));
    } else {
      result = request.run(signal);
    }
    const tracked = result.then(
      () => undefined,
      () => undefined,
    );
    this.running.add(tracked);
    void tracked.then(() => this.running.delete(tracked));
    this.enqueue(frame.length, result);
  }

  private enqueue(requestBytes: number, result: Promise<RequestResult>): void {
    const slot: Slot = { result: null, requestBytes };
    this.slots.push(slot);
    this.queuedBytes += requestBytes;
    this.updateFlowControl();
    result.then(
      (r) => {
        slot.result = r;
        this.flush();
      },
      (err: unknown) => {
        this.logger.error({ err }, 'request handler failed; closing connection');
        slot.result = { kind: 'close', reason: 'handler failed' };
        this.flush();
      },
    );
  }

  /** Writes every finished response at the head of the queue; stops at the first unfinished one. */
  private flush(): void {
    if (this.closed) return;
    let wrote = false;
    while (this.slots.length > 0 && this.slots[0]!.result !== null) {
      const slot = this.slots.shift()!;
      this.queuedBytes -= slot.requestBytes;
      const result = slot.result!;
      if (result.kind === 'close') {
        if (wrote) this.socket.uncork();
        this.close(result.reason, 'info');
        return;
      }
      if (result.kind === 'response') {
        if (!wrote) this.socket.cork();
        wrote = true;
        for (const buf of result.buffers) if (!this.socket.write(buf)) this.writeBlocked = true;
      }
    }
    if (wrote) this.socket.uncork();
    assert(this.queuedBytes >= 0, 'queued request bytes went negative');
    this.updateFlowControl();
    if (this.slots.length === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private updateFlowControl(): void {
    if (this.closed || this.closing) return;
    const shouldPause =
      this.writeBlocked || this.slots.length >= this.limits.maxQueuedRequests || this.queuedBytes >= this.limits.maxQueuedRequestBytes;
    if (shouldPause && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!shouldPause && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** Stops reading new requests (graceful shutdown) and ends long polls early. */
  quiesce(): void {
    this.closing = true;
    this.paused = true;
    this.socket.pause();
    this.abort.abort();
  }

  /** Resolves once every accepted request has been answered (or the connection closed). */
  whenIdle(): Promise<void> {
    if (this.slots.length === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(reason: string, level: 'debug' | 'info' = 'debug'): void {
    if (this.closed) return;
    this.closed = true;
    this.logger[level]({ reason, inFlight: this.slots.length }, 'connection closed');
    this.abort.abort();
    this.slots.length = 0;
    this.queuedBytes = 0;
    // Flushes what is already written (responses before a malformed request), then closes; a peer that does
    // not read its responses must not keep the socket (and a graceful stop) around.
    this.socket.destroySoon();
    setTimeout(() => this.socket.destroy(), CLOSE_FLUSH_TIMEOUT_MS).unref();
    for (const wake of this.idleWaiters.splice(0)) wake();
    this.onClose(this);
  }
}
