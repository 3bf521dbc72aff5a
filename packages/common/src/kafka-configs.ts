import { ConfigDef, type ConfigKey } from './config.js';

/**
 * Kafka's key names and defaults for what Fluxo implements. Topic-level keys (TOPIC_CONFIG) may be set per
 * topic (CreateTopics, IncrementalAlterConfigs); each has a broker-level default key (`log.` prefixed, Kafka's
 * mapping) in BROKER_CONFIG.
 */
const DAY_MS = 24 * 60 * 60 * 1000;
const GiB = 1024 * 1024 * 1024;

const int = (name: string, dflt: number | null, doc: string, extra: Partial<ConfigKey> = {}): ConfigKey => ({
  name,
  type: 'int',
  default: dflt,
  doc,
  ...extra,
});
const long = (name: string, dflt: number | null, doc: string, extra: Partial<ConfigKey> = {}): ConfigKey => ({
  name,
  type: 'long',
  default: dflt,
  doc,
  ...extra,
});

/** Topic-level keys: name, the broker key that supplies its default, and the definition. */
export const TOPIC_CONFIG_KEYS: readonly { topicKey: ConfigKey; brokerKey: string }[] = [
  {
    topicKey: { name: 'cleanup.policy', type: 'list', default: ['delete'], doc: 'delete and/or compact', eachOf: ['delete', 'compact'] },
    brokerKey: 'log.cleanup.policy',
  },
  { topicKey: long('retention.ms', 7 * DAY_MS, 'Delete segments older than this; -1 keeps forever', { min: -1 }), brokerKey: 'log.retention.ms' },
  { topicKey: long('retention.bytes', -1, 'Delete oldest segments while the partition is larger; -1 no limit', { min: -1 }), brokerKey: 'log.retention.bytes' },
  { topicKey: int('segment.bytes', GiB, 'Roll a new segment when the active one reaches this size', { min: 14 }), brokerKey: 'log.segment.bytes' },
  { topicKey: long('segment.ms', 7 * DAY_MS, 'Roll a new segment when the active one is this old', { min: 1 }), brokerKey: 'log.roll.ms' },
  { topicKey: int('segment.index.bytes', 10 * 1024 * 1024, 'Maximum size of a segment offset/time index', { min: 8 }), brokerKey: 'log.index.size.max.bytes' },
  { topicKey: int('index.interval.bytes', 4096, 'Bytes of log between two sparse index entries', { min: 0 }), brokerKey: 'log.index.interval.bytes' },
  { topicKey: int('max.message.bytes', 1048588, 'Largest record batch accepted after compression', { min: 0 }), brokerKey: 'message.max.bytes' },
  {
    topicKey: long('flush.messages', 1, 'Fsync after this many messages; 1 means acknowledged means fsynced (group commit)', { min: 1 }),
    brokerKey: 'log.flush.interval.messages',
  },
  { topicKey: long('flush.ms', null, 'Fsync at least this often (relaxed mode); null: only by flush.messages', { min: 0 }), brokerKey: 'log.flush.interval.ms' },
  { topicKey: long('delete.retention.ms', DAY_MS, 'How long compaction keeps tombstones', { min: 0 }), brokerKey: 'log.cleaner.delete.retention.ms' },
  { topicKey: long('min.compaction.lag.ms', 0, 'Minimum age of a record before compaction may remove it', { min: 0 }), brokerKey: 'log.cleaner.min.compaction.lag.ms' },
  {
    topicKey: { name: 'min.cleanable.dirty.ratio', type: 'double', default: 0.5, doc: 'Dirty fraction that makes a log eligible for compaction', min: 0, max: 1 },
    brokerKey: 'log.cleaner.min.cleanable.ratio',
  },
  { topicKey: int('min.insync.replicas', 1, 'Replicas that must acknowledge an acks=all write', { min: 1 }), brokerKey: 'min.insync.replicas' },
  {
    topicKey: { name: 'message.timestamp.type', type: 'string', default: 'CreateTime', doc: 'CreateTime or LogAppendTime', oneOf: ['CreateTime', 'LogAppendTime'] },
    brokerKey: 'log.message.timestamp.type',
  },
  {
    topicKey: {
      name: 'compression.type',
      type: 'string',
      default: 'producer',
      doc: 'Kept as sent (producer); recompression is not implemented, other values are accepted for compatibility',
      oneOf: ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'],
    },
    brokerKey: 'compression.type',
  },
];

export const TOPIC_CONFIG: ConfigDef = new ConfigDef();
for (const { topicKey } of TOPIC_CONFIG_KEYS) TOPIC_CONFIG.define(topicKey);

/** Broker key that gives a topic key its default, e.g. retention.ms <- log.retention.ms. */
export const BROKER_KEY_FOR_TOPIC_KEY: ReadonlyMap<string, string> = new Map(
  TOPIC_CONFIG_KEYS.map(({ topicKey, brokerKey }) => [topicKey.name, brokerKey]),
);

export const BROKER_CONFIG: ConfigDef = new ConfigDef()
  .define(int('node.id', 1, 'This node\'s id in the cluster', { min: 0 }))
  .define({ name: 'process.roles', type: 'list', default: ['broker', 'controller'], doc: 'broker, controller or both', eachOf: ['broker', 'controller'] })
  .define({ name: 'listeners', type: 'list', default: ['PLAINTEXT://127.0.0.1:9092'], doc: 'Where the Kafka protocol listener binds' })
  .define({ name: 'controller.quorum.voters', type: 'string', default: null, doc: 'Controller quorum id@host:port,...; set = cluster mode (unset: a single node that is its own controller)' })
  .define({ name: 'controller.listener.names', type: 'list', default: ['CONTROLLER'], doc: 'Listener name(s) of the controller gRPC endpoint in listeners' })
  .define(int('controller.quorum.election.timeout.ms', 1000, 'Raft election timeout (randomized up to twice this)', { min: 10 }))
  .define(int('controller.quorum.request.timeout.ms', 2000, 'Deadline of one call to a controller', { min: 1 }))
  .define(int('broker.session.timeout.ms', 9000, 'A broker not heard from for this long is fenced', { min: 1 }))
  .define(int('broker.heartbeat.interval.ms', 2000, 'How often a broker heartbeats to the active controller', { min: 1 }))
  .define(int('request.timeout.ms', 30000, 'How long a broker keeps retrying a request forwarded to the controller', { min: 1 }))
  .define({ name: 'controlled.shutdown.enable', type: 'boolean', default: true, doc: 'Move partition leadership away before a broker stops' })
  // Fluxo's own (Kafka snapshots by bytes and time): the controller snapshots its image and compacts its Raft log.
  .define({ name: 'auto.leader.rebalance.enable', type: 'boolean', default: true, doc: 'Controller: move leadership back to preferred replicas when brokers are imbalanced' })
  .define(long('leader.imbalance.check.interval.seconds', 300, 'Controller: how often the leader imbalance is checked', { min: 1 }))
  .define(int('leader.imbalance.per.broker.percentage', 10, 'Controller: imbalance (partitions a broker prefers but does not lead, %) that triggers a rebalance', { min: 0, max: 100 }))
  .define(int('metadata.snapshot.interval.entries', 1000, 'Controller: snapshot the metadata image every this many applied log entries', { min: 1 }))
  .define({ name: 'advertised.listeners', type: 'list', default: null, doc: 'Address clients are told to dial; defaults to listeners' })
  .define({ name: 'log.dirs', type: 'string', default: './data', doc: 'Data directory (one per node)' })
  .define({ name: 'broker.rack', type: 'string', default: null, doc: 'Rack or availability zone of this broker' })
  .define({ name: 'cluster.id', type: 'string', default: null, doc: 'Cluster id; generated and stored on first start when unset' })
  .define(int('num.partitions', 1, 'Partitions of an auto-created topic or one created without a count', { min: 1 }))
  .define(int('default.replication.factor', 1, 'Replication factor of auto-created topics', { min: 1 }))
  .define({ name: 'auto.create.topics.enable', type: 'boolean', default: true, doc: 'Create a topic on Metadata/Produce for an unknown name' })
  .define({ name: 'delete.topic.enable', type: 'boolean', default: true, doc: 'Allow DeleteTopics' })
  .define(long('log.retention.hours', 168, 'Retention in hours, used when log.retention.ms and log.retention.minutes are unset', { min: -1 }))
  .define(long('log.retention.minutes', null, 'Retention in minutes, used when log.retention.ms is unset', { min: -1 }))
  .define(long('log.roll.hours', 168, 'Segment age in hours, used when log.roll.ms is unset', { min: 1 }))
  .define(long('log.retention.check.interval.ms', 300_000, 'How often retention runs', { min: 1 }))
  .define(long('log.cleaner.backoff.ms', 15_000, 'How often the log cleaner looks for compactable logs', { min: 0 }))
  .define(int('producer.id.expiration.ms', 86_400_000, 'Forget an idempotent producer idle this long (measured from its last batch timestamp)', { min: 1 }))
  .define(int('producer.id.expiration.check.interval.ms', 600_000, 'How often idle producer ids are expired', { min: 1 }))
  .define({ name: 'log.cleaner.enable', type: 'boolean', default: true, doc: 'Run log compaction for compact topics' })
  .define(int('socket.request.max.bytes', 100 * 1024 * 1024, 'Largest request frame accepted', { min: 1 }))
  .define(long('queued.max.request.bytes', 64 * 1024 * 1024, 'In-flight request bytes per connection before reading pauses', { min: 1 }))
  .define(int('queued.max.requests', 500, 'In-flight requests per connection before reading pauses', { min: 1 }))
  .define(long('connections.max.idle.ms', 600_000, 'Close connections idle this long', { min: 1 }))
  .define(int('metrics.port', -1, 'HTTP port for /metrics, /health and /ready; -1 disables', { min: -1, max: 65535 }))
  .define({ name: 'log.level', type: 'string', default: null, doc: 'Log level (FLUXO_LOG_LEVEL); null: info', oneOf: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] })
  .define(long('group.initial.rebalance.delay.ms', 3000, 'Delay of the first rebalance of an empty group', { min: 0 }))
  .define(int('offsets.topic.num.partitions', 50, 'Partitions of __consumer_offsets', { min: 1 }))
  .define(int('offsets.topic.replication.factor', 1, 'Replication factor of __consumer_offsets', { min: 1 }))
  .define(long('offsets.retention.minutes', 10080, 'Committed offsets of empty groups expire after this', { min: 1 }))
  .define(long('offsets.retention.check.interval.ms', 600_000, 'How often expired offsets are removed', { min: 1 }))
  .define(int('offset.metadata.max.bytes', 4096, 'Largest metadata string of one committed offset', { min: 0 }))
  .define(int('group.min.session.timeout.ms', 6000, 'Smallest session timeout a member may ask for', { min: 0 }))
  .define(int('group.max.session.timeout.ms', 1_800_000, 'Largest session timeout a member may ask for', { min: 0 }))
  // Kafka's default is unlimited; Fluxo bounds a group so its metadata record stays storable.
  .define(int('group.max.size', 1000, 'Most members one consumer group may have', { min: 1 }))
  // Partition replication between brokers (Kafka's replica.* keys and defaults).
  .define(long('replica.lag.time.max.ms', 30_000, 'A follower that has not caught up with the leader for this long leaves the ISR', { min: 1 }))
  .define(int('replica.fetch.max.bytes', 1024 * 1024, 'Bytes a follower fetch asks for per partition (at least one whole batch is sent)', { min: 0 }))
  .define(int('replica.fetch.response.max.bytes', 10 * 1024 * 1024, 'Bytes a follower fetch asks for in total', { min: 0 }))
  .define(int('replica.fetch.wait.max.ms', 500, 'How long the leader holds a follower fetch that has nothing to return', { min: 0 }))
  .define(int('replica.fetch.min.bytes', 1, 'Bytes a follower fetch waits for before the leader answers', { min: 1 }))
  .define(int('replica.fetch.backoff.ms', 1000, 'Pause of a follower partition after a fetch error', { min: 0 }))
  .define(int('replica.socket.timeout.ms', 30_000, 'A follower fetch or epoch request unanswered this long beyond its wait fails', { min: 1 }))
  .define(long('replica.high.watermark.checkpoint.interval.ms', 5000, 'How often each partition checkpoints its high watermark', { min: 1 }))
  // Kafka sets it per broker at runtime (kafka-reassign-partitions --throttle); here it is a static broker key.
  .define(long('leader.replication.throttled.rate', -1, 'Bytes/s a leader sends to replicas a reassignment is adding (-1: unlimited)', { min: -1 }))
  .define({
    name: 'replica.selector.class',
    type: 'string',
    default: null,
    doc: 'org.apache.kafka.common.replica.RackAwareReplicaSelector lets consumers with client.rack fetch from an in-sync replica in their rack (KIP-392)',
  });
// Broker-level defaults of every topic key (log.retention.ms, log.segment.bytes, ...).
for (const { topicKey, brokerKey } of TOPIC_CONFIG_KEYS) {
  if (!BROKER_CONFIG.has(brokerKey)) BROKER_CONFIG.define({ ...topicKey, name: brokerKey });
}
