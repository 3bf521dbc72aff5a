import * as grpc from '@grpc/grpc-js';
import { DecodeError, ErrorCode, KafkaProtocolError, type MetadataImageJson, type MetadataRecord, type PartitionOutcome } from '@fluxo/common';
import { CONTROLLER_METHODS } from './grpc-server.js';
import { Proto, safeInt, type PlainObject, type ProtoType } from './transport/protos.js';

type Method = keyof typeof CONTROLLER_METHODS;

export interface QuorumStatus {
  readonly nodeId: number;
  readonly leaderId: number;
  readonly term: number;
  readonly role: string;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly voters: readonly number[];
  readonly voterStates: readonly { nodeId: number; matchIndex: number; lagEntries: number; lastContactMsAgo: number }[];
}

function outcomesOf(r: PlainObject): PartitionOutcome[] {
  return (r.outcomes as PlainObject[]).map((o) => ({ topic: String(o.topic), partition: Number(o.partition), errorCode: Number(o.errorCode), errorMessage: String(o.errorMessage) }));
}

/**
 * Client of one controller's gRPC API (no leader discovery: callers pick the node; NOT_CONTROLLER errors
 * carry the leader id). Errors in the response become KafkaProtocolError; transport failures are gRPC errors.
 */
export class ControllerClient {
  private readonly client: grpc.Client;

  constructor(
    readonly target: string,
    private readonly deadlineMs = 5000,
  ) {
    this.client = new grpc.Client(target, grpc.credentials.createInsecure(), {
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    });
  }

  close(): void {
    this.client.close();
  }

  async describeQuorum(): Promise<QuorumStatus> {
    const r = await this.call('DescribeQuorum', Proto.DescribeQuorumRequest, Proto.DescribeQuorumResponse, {});
    return {
      nodeId: Number(r.nodeId),
      leaderId: Number(r.leaderId),
      term: safeInt(r.term, 'term'),
      role: String(r.role),
      commitIndex: safeInt(r.commitIndex, 'commitIndex'),
      appliedIndex: safeInt(r.appliedIndex, 'appliedIndex'),
      lastIndex: safeInt(r.lastIndex, 'lastIndex'),
      voters: (r.voters as number[]).slice(),
      voterStates: (r.voterStates as PlainObject[]).map((v) => ({
        nodeId: Number(v.nodeId),
        matchIndex: safeInt(v.matchIndex, 'matchIndex'),
        lagEntries: safeInt(v.lagEntries, 'lagEntries'),
        lastContactMsAgo: safeInt(v.lastContactMsAgo, 'lastContactMsAgo'),
      })),
    };
  }

  async createTopic(name: string, numPartitions = -1, replicationFactor = -1, configs: Record<string, string> = {}): Promise<{ topicId: string; committedIndex: number }> {
    const r = await this.call('CreateTopic', Proto.CreateTopicRequest, Proto.CreateTopicResponse, { name, numPartitions, replicationFactor, configs });
    return { topicId: String(r.topicId), committedIndex: safeInt(r.committedIndex, 'committedIndex') };
  }

  async registerBroker(brokerId: number, incarnationId: string, rack: string | null, endpoints: { listener: string; host: string; port: number }[]): Promise<number> {
    const r = await this.call('RegisterBroker', Proto.RegisterBrokerRequest, Proto.RegisterBrokerResponse, { brokerId, incarnationId, rack: rack ?? '', endpoints });
    return safeInt(r.brokerEpoch, 'brokerEpoch');
  }

  async brokerHeartbeat(brokerId: number, brokerEpoch: number, wantFence = false): Promise<{ isFenced: boolean; leaseMs: number }> {
    const r = await this.call('BrokerHeartbeat', Proto.BrokerHeartbeatRequest, Proto.BrokerHeartbeatResponse, { brokerId, brokerEpoch: String(brokerEpoch), wantFence });
    return { isFenced: r.isFenced === true, leaseMs: Number(r.leaseMs) };
  }

  /** Forwards a broker's metadata change; resolves with the log index it was applied at. */
  async commitRecords(brokerId: number, brokerEpoch: number, records: readonly MetadataRecord[]): Promise<number> {
    const r = await this.call('CommitRecords', Proto.CommitRecordsRequest, Proto.CommitRecordsResponse, {
      brokerId,
      brokerEpoch: String(brokerEpoch),
      records: Buffer.from(JSON.stringify(records)),
    });
    return safeInt(r.committedIndex, 'committedIndex');
  }

  async electLeaders(electionType: number, partitions: readonly { topic: string; partition: number }[] | null): Promise<PartitionOutcome[]> {
    const r = await this.call('ElectLeaders', Proto.ElectLeadersRequest, Proto.PartitionOutcomesResponse, { electionType, partitions: partitions ?? [], all: partitions === null });
    return outcomesOf(r);
  }

  async alterReassignments(targets: readonly { topic: string; partition: number; replicas: readonly number[] | null }[]): Promise<PartitionOutcome[]> {
    const r = await this.call('AlterReassignments', Proto.AlterReassignmentsRequest, Proto.PartitionOutcomesResponse, {
      targets: targets.map((t) => ({ topic: t.topic, partition: t.partition, replicas: t.replicas ?? [], cancel: t.replicas === null })),
    });
    return outcomesOf(r);
  }

  async getMetadata(): Promise<{ appliedIndex: number; image: MetadataImageJson }> {
    const r = await this.call('GetMetadata', Proto.GetMetadataRequest, Proto.GetMetadataResponse, {});
    return { appliedIndex: safeInt(r.appliedIndex, 'appliedIndex'), image: JSON.parse(Buffer.from(r.image as Uint8Array).toString('utf8')) as MetadataImageJson };
  }

  /** Streams committed metadata after `afterIndex`; returns a cancel function. */
  watchMetadata(afterIndex: number, onEvent: (e: { index: number; fullImage: boolean; payload: unknown }) => void, onEnd: (err: Error | null) => void): () => void {
    const m = CONTROLLER_METHODS.WatchMetadata;
    const stream = this.client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, Proto.WatchMetadataRequest.encode({ afterIndex: String(afterIndex) }));
    let done = false;
    const end = (err: Error | null): void => {
      if (done) return;
      done = true;
      onEnd(err);
    };
    stream.on('data', (b: Buffer) => {
      if (done) return;
      let event: { index: number; fullImage: boolean; payload: unknown };
      try {
        const e = Proto.MetadataEvent.decode(b);
        event = { index: safeInt(e.index, 'index'), fullImage: e.fullImage === true, payload: JSON.parse(Buffer.from(e.payload as Uint8Array).toString('utf8')) };
      } catch (err) {
        stream.cancel();
        end(new DecodeError(`malformed metadata event from ${this.target}: ${(err as Error).message}`));
        return;
      }
      onEvent(event);
    });
    stream.on('error', (err: Error) => end(err));
    stream.on('end', () => end(null));
    return () => stream.cancel();
  }

  /** Raw call for tests of bad input: sends `body` bytes as the request of `method`. */
  rawCall(path: string, body: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, body, new grpc.Metadata(), { deadline: Date.now() + this.deadlineMs }, (err, res) =>
        err ? reject(err) : resolve(res as Buffer),
      );
    });
  }

  private async call(method: Method, reqType: ProtoType, resType: ProtoType, req: PlainObject): Promise<PlainObject> {
    const res = resType.decode(await this.rawCall(CONTROLLER_METHODS[method].path, reqType.encode(req)));
    const code = Number(res.errorCode ?? 0);
    if (code !== 0) {
      const err = new KafkaProtocolError(code, String(res.errorMessage));
      if (code === ErrorCode.NOT_CONTROLLER) Object.assign(err, { leaderId: Number(res.leaderId) });
      throw err;
    }
    return res;
  }
}
