"""confluent-kafka-python (librdkafka) round trip against a Fluxo node.

Produces COUNT messages with explicit CreateTime timestamps and headers (acks and codec from the command
line), consumes them back with assign() from the beginning, and looks offsets up by timestamp.
Prints one JSON object (last stdout line) describing what happened; the vitest test asserts on it.
"""
import argparse
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition, TIMESTAMP_CREATE_TIME

p = argparse.ArgumentParser()
p.add_argument('--bootstrap', required=True)
p.add_argument('--topic', required=True)
p.add_argument('--acks', required=True)
p.add_argument('--codec', required=True)
p.add_argument('--count', type=int, default=2000)
args = p.parse_args()

STEP_MS = 10
t0 = int(time.time() * 1000) - 3_600_000
expected = []
for i in range(args.count):
    expected.append({
        'key': ('k%d' % i).encode(),
        'value': ('v-%s-%s-%d-' % (args.codec, args.acks, i)).encode() + bytes(range(i % 50)) * 3,
        'headers': [('i', str(i).encode()), ('bin', b'\x00\xff\x01')],
        'ts': t0 + i * STEP_MS,
    })

producer_errors = []
delivered = {}  # index -> offset


def on_delivery(index):
    def cb(err, msg):
        if err is not None:
            producer_errors.append('%d: %s' % (index, err))
        else:
            delivered[index] = msg.offset()
    return cb


producer = Producer({
    'bootstrap.servers': args.bootstrap,
    'acks': args.acks,
    'compression.codec': args.codec,
    'linger.ms': 5,
    'message.timeout.ms': 60000,
    'error_cb': lambda err: producer_errors.append('error_cb: %s' % err),
})
for i, m in enumerate(expected):
    while True:
        try:
            producer.produce(args.topic, value=m['value'], key=m['key'], headers=m['headers'], partition=0,
                             timestamp=m['ts'], on_delivery=on_delivery(i))
            break
        except BufferError:
            producer.poll(0.05)
    producer.poll(0)
remaining = producer.flush(60)

offsets = [delivered.get(i) for i in range(args.count)]
offsets_ok = offsets == list(range(args.count))

consumer_errors = []
consumer = Consumer({
    'bootstrap.servers': args.bootstrap,
    'group.id': 'compat-assign-%s' % args.topic,
    'enable.auto.commit': False,
    'enable.partition.eof': True,
    'check.crcs': True,
    # Lookups share the connection with the long-poll Fetch and queue behind it (responses are in order).
    'fetch.wait.max.ms': 100,
    'error_cb': lambda err: consumer_errors.append('error_cb: %s' % err),
})
consumer.assign([TopicPartition(args.topic, 0, 0)])
consumed = []
eof = False
deadline = time.time() + 60
while time.time() < deadline and not (eof and len(consumed) >= args.count):
    msg = consumer.poll(0.5)
    if msg is None:
        continue
    if msg.error():
        if msg.error().code() == KafkaError._PARTITION_EOF:
            eof = True
            continue
        consumer_errors.append(str(msg.error()))
        continue
    consumed.append(msg)

mismatches = []
for i, msg in enumerate(consumed):
    if i >= args.count:
        mismatches.append('extra message at offset %d' % msg.offset())
        break
    m = expected[i]
    ts_type, ts = msg.timestamp()
    got = {
        'offset': msg.offset(), 'key': msg.key(), 'value': msg.value(),
        'headers': [(k, v) for (k, v) in (msg.headers() or [])], 'ts': ts, 'tsType': ts_type,
    }
    want = {'offset': i, 'key': m['key'], 'value': m['value'], 'headers': m['headers'], 'ts': m['ts'],
            'tsType': TIMESTAMP_CREATE_TIME}
    if got != want:
        mismatches.append('offset %d: got %r want %r' % (i, got, want))
    if len(mismatches) >= 5:
        break


def lookup(ts):
    res = consumer.offsets_for_times([TopicPartition(args.topic, 0, ts)], timeout=15)
    return res[0].offset if res[0].error is None else 'error: %s' % res[0].error


offsets_for_times = {
    'beforeFirst': lookup(t0 - 1000),
    'exactFirst': lookup(t0),
    'middle': lookup(t0 + 50 * STEP_MS + STEP_MS // 2),  # between message 50 and 51 -> 51
    'exactLast': lookup(t0 + (args.count - 1) * STEP_MS),
    'afterLast': lookup(t0 + args.count * STEP_MS + 60_000),
}
consumer.close()

print(json.dumps({
    'count': args.count,
    'notFlushed': remaining,
    'delivered': len(delivered),
    'producerErrors': producer_errors[:10],
    'offsetsInProduceOrder': offsets_ok,
    'firstOffsets': offsets[:5],
    'consumed': len(consumed),
    'reachedEof': eof,
    'consumerErrors': consumer_errors[:10],
    'mismatches': mismatches,
    'offsetsForTimes': offsets_for_times,
}))
