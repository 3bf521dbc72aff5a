"""confluent-kafka-python (librdkafka) idempotent producer against a Fluxo node.

Produces COUNT messages round-robin over PARTITIONS partitions with enable.idempotence=True (InitProducerId,
sequence numbers, up to 5 requests in flight), then consumes every partition to its end and checks that each
message is there exactly once, in produce order, at the offset its delivery report gave.
Prints one JSON object (last stdout line); the vitest test asserts on it.
"""
import argparse
import json
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

p = argparse.ArgumentParser()
p.add_argument('--bootstrap', required=True)
p.add_argument('--topic', required=True)
p.add_argument('--partitions', type=int, default=3)
p.add_argument('--count', type=int, default=5000)
args = p.parse_args()

producer_errors = []
delivered = {}  # value -> (partition, offset)


def on_delivery(err, msg):
    if err is not None:
        producer_errors.append(str(err))
    else:
        delivered[msg.value().decode()] = (msg.partition(), msg.offset())


producer = Producer({
    'bootstrap.servers': args.bootstrap,
    'enable.idempotence': True,
    'max.in.flight.requests.per.connection': 5,
    'linger.ms': 2,
    'batch.num.messages': 100,
    'message.timeout.ms': 60000,
    'error_cb': lambda err: producer_errors.append('error_cb: %s' % err),
})
values = ['idem-%d' % i for i in range(args.count)]
for i, v in enumerate(values):
    while True:
        try:
            producer.produce(args.topic, value=v.encode(), partition=i % args.partitions, on_delivery=on_delivery)
            break
        except BufferError:
            producer.poll(0.05)
    producer.poll(0)
remaining = producer.flush(60)

consumer_errors = []
consumer = Consumer({
    'bootstrap.servers': args.bootstrap,
    'group.id': 'compat-idem-%s' % args.topic,
    'enable.auto.commit': False,
    'enable.partition.eof': True,
    'check.crcs': True,
    'fetch.wait.max.ms': 100,
    'error_cb': lambda err: consumer_errors.append('error_cb: %s' % err),
})
consumer.assign([TopicPartition(args.topic, p, 0) for p in range(args.partitions)])
consumed = {p: [] for p in range(args.partitions)}
eof = set()
deadline = time.time() + 60
while time.time() < deadline and len(eof) < args.partitions:
    msg = consumer.poll(0.5)
    if msg is None:
        continue
    if msg.error():
        if msg.error().code() == KafkaError._PARTITION_EOF:
            if sum(len(v) for v in consumed.values()) >= args.count:
                eof.add(msg.partition())
            continue
        consumer_errors.append(str(msg.error()))
        continue
    consumed[msg.partition()].append((msg.offset(), msg.value().decode()))
consumer.close()

problems = []
seen = {}
for part, msgs in consumed.items():
    expected = [v for i, v in enumerate(values) if i % args.partitions == part]
    got = [v for (_, v) in msgs]
    if got != expected:
        problems.append('partition %d: %d messages, first difference at %s' % (
            part, len(got), next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))))
    for offset, v in msgs:
        seen[v] = seen.get(v, 0) + 1
        if delivered.get(v) != (part, offset):
            problems.append('%s at %d/%d, delivery report said %r' % (v, part, offset, delivered.get(v)))
            break

print(json.dumps({
    'count': args.count,
    'notFlushed': remaining,
    'delivered': len(delivered),
    'producerErrors': producer_errors[:10],
    'consumed': sum(len(v) for v in consumed.values()),
    'duplicates': sum(1 for n in seen.values() if n > 1),
    'consumerErrors': consumer_errors[:10],
    'problems': problems[:10],
}))
