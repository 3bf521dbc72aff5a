import * as grpc from '@grpc/grpc-js';
import {
  EpochRequestCodec,
  EpochResponseCodec,
  FetchRequestCodec,
  FetchResponseCodec,
  REPLICATION_EPOCH_PATH,
  REPLICATION_FETCH_PATH,
  type EpochRequestMessage,
  type EpochResponseMessage,
  type FetchPartitionRequest,
  type FetchRequestMessage,
  type FetchResponseMessage,
} from '../messages.js';

const identity = (b: Buffer): Buffer => b;

/** A hand-driven replication client for tests: sends exactly what it is given (including garbage). */
export class RawReplicationClient {
  private readonly client: grpc.Client;

  constructor(address: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure());
  }

  /** One request on a fresh Fetch stream; resolves with the response or rejects with the gRPC error. */
  fetchRaw(bytes: Buffer): Promise<FetchResponseMessage> {
    return new Promise((resolve, reject) => {
      const stream = this.client.makeBidiStreamRequest(REPLICATION_FETCH_PATH, identity, identity, new grpc.Metadata());
      stream.on('data', (b: Buffer) => {
        resolve(FetchResponseCodec.decode(b));
        stream.cancel();
      });
      stream.on('error', (err: Error) => reject(err));
      stream.write(bytes);
    });
  }

  fetch(req: Partial<FetchRequestMessage> & { replicaId: number; brokerEpoch: number; partitions: FetchPartitionRequest[] }): Promise<FetchResponseMessage> {
    return this.fetchRaw(FetchRequestCodec.encode({ requestId: 1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, ...req }));
  }

  epochs(req: EpochRequestMessage): Promise<EpochResponseMessage> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(REPLICATION_EPOCH_PATH, identity, identity, EpochRequestCodec.encode(req), (err, value) => {
        if (err) reject(err);
        else resolve(EpochResponseCodec.decode(value!));
      });
    });
  }

  close(): void {
    this.client.close();
  }
}

export function fetchPartition(topicId: string, partition: number, p: Partial<FetchPartitionRequest> = {}): FetchPartitionRequest {
  return { topicId, partition, currentLeaderEpoch: 0, fetchOffset: 0, lastFetchedEpoch: -1, highWatermark: 0, maxBytes: 1 << 20, ...p };
}
