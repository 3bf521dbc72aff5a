import * as grpc from '@grpc/grpc-js';
import { DecodeError, ErrorCode, FluxoError, imageToJson, parseMetadataRecord, type BrokerEndpoint, type Logger, type MetadataRecord } from '@fluxo/common';
import type { Message } from '@fluxo/raft';
import { NotControllerError, type ControllerNode } from './controller-node.js';
import type { MetadataEvent } from './metadata-watchers.js';
import { Proto, safeInt, type PlainObject, type ProtoType } from './transport/protos.js';
import { messageFromProto } from './transport/raft-codec.js';
import { RAFT_STEP_PATH, channelOptions } from './transport/raft-transport.js';

const identity = (b: Buffer): Buffer => b;

function unaryMethod(path: string): grpc.MethodDefinition<Buffer, Buffer> {
  return { path, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
}

function streamMethod(path: string): grpc.MethodDefinition<Buffer, Buffer> {
  return { ...unaryMethod(path), responseStream: true };
}

export const CONTROLLER_METHODS = {
  CreateTopic: unaryMethod('/fluxo.controller.Controller/CreateTopic'),
  DescribeQuorum: unaryMethod('/fluxo.controller.Controller/DescribeQuorum'),
  RegisterBroker: unaryMethod('/fluxo.controller.Controller/RegisterBroker'),
  BrokerHeartbeat: unaryMethod('/fluxo.controller.Controller/BrokerHeartbeat'),
  WatchMetadata: streamMethod('/fluxo.controller.Controller/WatchMetadata'),
  GetMetadata: unaryMethod('/fluxo.controller.Controller/GetMetadata'),
  CommitRecords: unaryMethod('/fluxo.controller.Controller/CommitRecords'),
  ElectLeaders: unaryMethod('/fluxo.controller.Controller/ElectLeaders'),
  AlterReassignments: unaryMethod('/fluxo.controller.Controller/AlterReassignments'),
} as const;

/** Most records one forwarded commit may carry (a CreateTopics of many topics is one commit per topic). */
const MAX_FORWARDED_RECORDS = 10_000;

function parseForwardedRecords(bytes: Uint8Array): MetadataRecord[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (err) {
    throw new DecodeError(`records are not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || parsed.length > MAX_FORWARDED_RECORDS) {
    throw new DecodeError(`records must be a non-empty array of at most ${MAX_FORWARDED_RECORDS}`);
  }
  return parsed.map((r) => parseMetadataRecord(r));
}

/** Kafka-style error fields for a controller API response. */
function errorFields(err: unknown): PlainObject {
  if (err instanceof NotControllerError) return { errorCode: err.code, errorMessage: err.message, leaderId: err.leaderId ?? -1 };
  if (err instanceof DecodeError) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: err.message, leaderId: -1 };
  if (err instanceof FluxoError && err.code >= 0) return { errorCode: err.code, errorMessage: err.message, leaderId: -1 };
  throw err;
}

/**
 * The controller's gRPC server: the Raft service (peers' Step batches, validated before raft sees them) and
 * the controller API. Requests arrive as raw bytes and are decoded here, so a malformed one gets a clear
 * INVALID_ARGUMENT and a log line instead of a generic deserialization failure.
 */
export class ControllerServer {
  private readonly server: grpc.Server;
  private boundPort = 0;

  constructor(
    private readonly node: ControllerNode,
    private readonly logger: Logger,
    maxMessageBytes: number,
  ) {
    this.server = new grpc.Server(channelOptions({ maxMessageBytes, maxQueuedMessagesPerPeer: 1, requestTimeoutMs: 1 }));
    this.server.addService({ Step: unaryMethod(RAFT_STEP_PATH) }, { Step: this.step });
    this.server.addService(CONTROLLER_METHODS, {
      CreateTopic: this.unary(Proto.CreateTopicRequest, Proto.CreateTopicResponse, async (req) => {
        const configs = (req.configs ?? {}) as Record<string, string>;
        const { topicId, index } = await this.node.createTopic({
          name: String(req.name),
          numPartitions: Number(req.numPartitions),
          replicationFactor: Number(req.replicationFactor),
          configs,
        });
        return { errorCode: 0, topicId, leaderId: this.node.nodeId, committedIndex: String(index) };
      }),
      DescribeQuorum: this.unary(Proto.DescribeQuorumRequest, Proto.DescribeQuorumResponse, async () => {
        const q = this.node.describeQuorum();
        return {
          nodeId: q.nodeId,
          leaderId: q.leaderId ?? -1,
          term: String(q.term),
          role: q.role,
          commitIndex: String(q.commitIndex),
          appliedIndex: String(q.appliedIndex),
          lastIndex: String(q.lastIndex),
          voters: [...q.voters],
          voterStates: q.voterStates.map((v) => ({ nodeId: v.nodeId, matchIndex: String(v.matchIndex), lagEntries: String(v.lagEntries), lastContactMsAgo: String(v.lastContactMsAgo) })),
        };
      }),
      RegisterBroker: this.unary(Proto.RegisterBrokerRequest, Proto.RegisterBrokerResponse, async (req) => {
        const endpoints = (req.endpoints as PlainObject[]).map((e): BrokerEndpoint => ({ listener: String(e.listener), host: String(e.host), port: Number(e.port) }));
        const rack = String(req.rack ?? '');
        const { brokerEpoch } = await this.node.registerBroker({
          brokerId: Number(req.brokerId),
          incarnationId: String(req.incarnationId),
          rack: rack.length === 0 ? null : rack,
          endpoints,
        });
        return { errorCode: 0, leaderId: this.node.nodeId, brokerEpoch: String(brokerEpoch) };
      }),
      BrokerHeartbeat: this.unary(Proto.BrokerHeartbeatRequest, Proto.BrokerHeartbeatResponse, async (req) => {
        const { isFenced } = await this.node.brokerHeartbeat(Number(req.brokerId), safeInt(req.brokerEpoch, 'brokerEpoch'), req.wantFence === true);
        return { errorCode: 0, leaderId: this.node.nodeId, isFenced, leaseMs: this.node.config.brokerSessionTimeoutMs };
      }),
      GetMetadata: this.unary(Proto.GetMetadataRequest, Proto.GetMetadataResponse, async () => ({
        appliedIndex: String(this.node.describeQuorum().appliedIndex),
        image: Buffer.from(JSON.stringify(imageToJson(this.node.metadataImage()))),
      })),
      CommitRecords: this.unary(Proto.CommitRecordsRequest, Proto.CommitRecordsResponse, async (req) => {
        const records = parseForwardedRecords(req.records as Uint8Array);
        const { index } = await this.node.commitRecords(Number(req.brokerId), safeInt(req.brokerEpoch, 'brokerEpoch'), records);
        return { errorCode: 0, leaderId: this.node.nodeId, committedIndex: String(index) };
      }),
      ElectLeaders: this.unary(Proto.ElectLeadersRequest, Proto.PartitionOutcomesResponse, async (req) => {
        const refs = (req.partitions as PlainObject[]).map((r) => ({ topic: String(r.topic), partition: Number(r.partition) }));
        const outcomes = await this.node.electLeaders(Number(req.electionType), req.all === true ? null : refs);
        return { errorCode: 0, leaderId: this.node.nodeId, outcomes };
      }),
      AlterReassignments: this.unary(Proto.AlterReassignmentsRequest, Proto.PartitionOutcomesResponse, async (req) => {
        const targets = (req.targets as PlainObject[]).map((t) => ({
          topic: String(t.topic),
          partition: Number(t.partition),
          replicas: t.cancel === true ? null : (t.replicas as number[]).map(Number),
        }));
        const outcomes = await this.node.alterReassignments(targets);
        return { errorCode: 0, leaderId: this.node.nodeId, outcomes };
      }),
      WatchMetadata: this.watch,
    });
  }

  async listen(host: string, port: number): Promise<number> {
    this.boundPort = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
    });
    return this.boundPort;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 1000);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private readonly step = (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>): void => {
    const reject = (code: grpc.status, reason: string, details: string, fields: Record<string, unknown> = {}): void => {
      this.node.countRejectedBatch(reason);
      this.node.warnThrottled(reason, { peer: call.getPeer(), details, ...fields }, 'rejected raft message batch');
      callback({ code, details });
    };
    let from: number;
    const messages: Message[] = [];
    try {
      const req = Proto.StepRequest.decode(call.request);
      from = Number(req.from);
      const to = Number(req.to);
      if (!this.node.isVoter(from) || from === this.node.nodeId) {
        reject(grpc.status.PERMISSION_DENIED, 'notAVoter', `node ${from} is not a voter of this quorum`, { from });
        return;
      }
      if (to !== this.node.nodeId) {
        reject(grpc.status.PERMISSION_DENIED, 'wrongNode', `batch addressed to node ${to}, this is node ${this.node.nodeId}`, { from, to });
        return;
      }
      for (const raw of req.messages as PlainObject[]) {
        const m = messageFromProto(raw);
        if (m.from !== from || m.to !== to) throw new DecodeError(`message ${m.from}->${m.to} inside a batch ${from}->${to}`);
        messages.push(m);
      }
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      reject(grpc.status.INVALID_ARGUMENT, 'malformed', err.message);
      return;
    }
    this.node.stepMessages(from, messages);
    callback(null, Proto.StepResponse.encode({}));
  };

  private unary(
    reqType: ProtoType,
    resType: ProtoType,
    handle: (req: PlainObject) => Promise<PlainObject>,
  ): grpc.handleUnaryCall<Buffer, Buffer> {
    return (call, callback) => {
      let req: PlainObject;
      try {
        req = reqType.decode(call.request);
      } catch (err) {
        this.node.warnThrottled('malformedApiRequest', { peer: call.getPeer(), details: (err as Error).message }, 'rejected malformed controller request');
        callback({ code: grpc.status.INVALID_ARGUMENT, details: (err as Error).message });
        return;
      }
      handle(req)
        .catch((err: unknown) => errorFields(err))
        .then(
          (res) => callback(null, resType.encode(res)),
          (err: unknown) => {
            this.logger.error({ err }, 'controller request failed');
            callback({ code: grpc.status.INTERNAL, details: (err as Error).message });
          },
        );
    };
  }

  private readonly watch = (call: grpc.ServerWritableStream<Buffer, Buffer>): void => {
    let afterIndex: number;
    try {
      afterIndex = safeInt(Proto.WatchMetadataRequest.decode(call.request).afterIndex, 'afterIndex');
    } catch (err) {
      call.destroy(Object.assign(new Error((err as Error).message), { code: grpc.status.INVALID_ARGUMENT }));
      return;
    }
    const maxBufferBytes = this.node.config.maxWatchBufferBytes;
    let unsubscribe = (): void => undefined;
    let closed = false;
    const sink = {
      send: (event: MetadataEvent): boolean => {
        if (closed) return true;
        if (call.writableLength > maxBufferBytes) return false;
        call.write(Proto.MetadataEvent.encode({ index: String(event.index), fullImage: event.fullImage, payload: event.payload }));
        return true;
      },
      close: (err: Error | null): void => {
        if (closed) return;
        closed = true;
        if (err === null) call.end();
        else call.destroy(Object.assign(new Error(err.message), { code: grpc.status.RESOURCE_EXHAUSTED }));
      },
    };
    call.on('cancelled', () => {
      closed = true;
      unsubscribe();
    });
    call.on('close', () => unsubscribe());
    try {
      unsubscribe = this.node.watch(sink, afterIndex);
    } catch (err) {
      const code = err instanceof FluxoError && err.code === ErrorCode.NOT_CONTROLLER ? grpc.status.UNAVAILABLE : grpc.status.RESOURCE_EXHAUSTED;
      call.destroy(Object.assign(new Error((err as Error).message), { code }));
    }
  };
}
