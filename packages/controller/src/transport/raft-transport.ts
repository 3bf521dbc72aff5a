import * as grpc from '@grpc/grpc-js';
import { counter, gauge, type Gauge, type Logger, type Registry } from '@fluxo/common';
import { entrySizeBytes, type Message, type NodeId } from '@fluxo/raft';
import { Proto } from './protos.js';
import { messageToProto } from './raft-codec.js';

export const RAFT_STEP_PATH = '/fluxo.raft.Raft/Step';

export interface TransportLimits {
  /** Messages queued per peer; the oldest are dropped beyond this (raft retries). */
  readonly maxQueuedMessagesPerPeer: number;
  /** Bytes of one Step call (gRPC max message size, both directions). */
  readonly maxMessageBytes: number;
  /** A Step call to a peer that does not answer (stopped, partitioned) fails after this. */
  readonly requestTimeoutMs: number;
}

export function channelOptions(limits: TransportLimits): grpc.ChannelOptions {
  return {
    'grpc.max_send_message_length': limits.maxMessageBytes,
    'grpc.max_receive_message_length': limits.maxMessageBytes,
    // A restarted peer must be reachable again within an election timeout, not after grpc's 1..120 s backoff.
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1000,
    'grpc.min_reconnect_backoff_ms': 100,
  };
}

function messageSizeBytes(m: Message): number {
  if (m.type === 'append') return 64 + m.entries.reduce((sum, e) => sum + entrySizeBytes(e), 0);
  if (m.type === 'snapshot') return 64 + m.snapshot.data.byteLength + 4 * m.snapshot.confState.voters.length;
  return 64;
}

/**
 * Outgoing Raft messages to one peer: a bounded queue drained by one Step call at a time (keeps order).
 * Delivery is best effort: a failed call drops its batch and raft retransmits.
 */
class PeerSender {
  private queue: Message[] = [];
  private inFlight = false;
  private reachable = true;
  private closed = false;
  private readonly client: grpc.Client;

  constructor(
    private readonly selfId: NodeId,
    readonly peerId: NodeId,
    readonly address: string,
    private readonly limits: TransportLimits,
    private readonly logger: Logger,
    private readonly dropped: (reason: string, count: number) => void,
  ) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), channelOptions(limits));
  }

  get queueLength(): number {
    return this.queue.length;
  }

  enqueue(m: Message): void {
    if (this.closed) return;
    this.queue.push(m);
    if (this.queue.length > this.limits.maxQueuedMessagesPerPeer) {
      this.queue.shift();
      this.dropped('queueFull', 1);
    }
    this.pump();
  }

  close(): void {
    this.closed = true;
    this.queue = [];
    this.client.close();
  }

  private pump(): void {
    if (this.inFlight || this.closed || this.queue.length === 0) return;
    const budget = this.limits.maxMessageBytes - 1024;
    let take = 0;
    let sizeBytes = 0;
    while (take < this.queue.length) {
      sizeBytes += messageSizeBytes(this.queue[take] as Message);
      if (take > 0 && sizeBytes > budget) break;
      take++;
    }
    const batch = this.queue.splice(0, take);
    let body: Buffer;
    try {
      body = Proto.StepRequest.encode({ from: this.selfId, to: this.peerId, messages: batch.map(messageToProto) });
    } catch (err) {
      this.logger.error({ err, peer: this.peerId }, 'cannot encode raft messages; dropped');
      this.dropped('encode', batch.length);
      this.pump();
      return;
    }
    this.inFlight = true;
    this.client.makeUnaryRequest(
      RAFT_STEP_PATH,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      new grpc.Metadata(),
      { deadline: Date.now() + this.limits.requestTimeoutMs },
      (err) => {
        this.inFlight = false;
        if (err) {
          this.dropped('unreachable', batch.length);
          if (this.reachable) {
            this.reachable = false;
            this.logger.warn({ peer: this.peerId, address: this.address, code: err.code, details: err.details }, 'raft peer unreachable; dropping its messages until it answers');
          }
        } else if (!this.reachable) {
          this.reachable = true;
          this.logger.info({ peer: this.peerId, address: this.address }, 'raft peer reachable again');
        }
        this.pump();
      },
    );
  }
}

/** Sends raft messages to the other voters over gRPC (proto/raft.proto). */
export class RaftTransport {
  private readonly peers = new Map<NodeId, PeerSender>();

  constructor(opts: {
    selfId: NodeId;
    peers: ReadonlyMap<NodeId, string>;
    limits: TransportLimits;
    logger: Logger;
    registry: Registry;
  }) {
    const droppedTotal = counter(opts.registry, 'fluxo_controller_raft_messages_dropped_total', 'Outgoing raft messages dropped (raft retries)', ['peer', 'reason']);
    const queued = gauge(opts.registry, 'fluxo_controller_raft_peer_queue_messages', 'Raft messages queued per peer', ['peer']);
    for (const [id, address] of opts.peers) {
      if (id === opts.selfId) continue;
      const sender = new PeerSender(opts.selfId, id, address, opts.limits, opts.logger, (reason, count) => droppedTotal.inc({ peer: String(id), reason }, count));
      this.peers.set(id, sender);
    }
    this.queuedGauge = queued;
    this.droppedUnknown = (count) => droppedTotal.inc({ peer: 'unknown', reason: 'notAVoter' }, count);
  }

  private readonly queuedGauge: Gauge<string>;
  private readonly droppedUnknown: (count: number) => void;

  send(messages: readonly Message[]): void {
    for (const m of messages) {
      const peer = this.peers.get(m.to);
      if (peer === undefined) this.droppedUnknown(1);
      else peer.enqueue(m);
    }
    for (const [id, p] of this.peers) this.queuedGauge.set({ peer: String(id) }, p.queueLength);
  }

  close(): void {
    for (const p of this.peers.values()) p.close();
  }
}
