"""kafka-python 2.0.2 round trip: produce COUNT messages with a codec, consume them back with assign().

kafka-python probes the broker (ApiVersions v0, Metadata v0) because api_version is left as None, then
uses its hard-coded request versions. Prints one JSON object (last stdout line).
"""
import argparse
import json
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

p = argparse.ArgumentParser()
p.add_argument('--bootstrap', required=True)
p.add_argument('--topic', required=True)
p.add_argument('--codec', required=True)
p.add_argument('--count', type=int, default=2000)
args = p.parse_args()

codec = None if args.codec == 'none' else args.codec
expected = [(('k%d' % i).encode(), ('kafka-python-%s-%d-' % (args.codec, i)).encode() * (1 + i % 7),
             [('i', str(i).encode())]) for i in range(args.count)]

producer_errors = []
producer = KafkaProducer(bootstrap_servers=[args.bootstrap], api_version=None, compression_type=codec,
                         acks='all', linger_ms=5, request_timeout_ms=30000, max_block_ms=60000)
futures = [producer.send(args.topic, key=k, value=v, headers=h, partition=0) for (k, v, h) in expected]
producer.flush(60)
offsets = []
for i, f in enumerate(futures):
    try:
        offsets.append(f.get(timeout=30).offset)
    except Exception as e:  # noqa: BLE001 - report any delivery failure
        offsets.append(None)
        producer_errors.append('%d: %r' % (i, e))
probed = '.'.join(str(x) for x in producer.config['api_version'])
producer.close(10)

consumer = KafkaConsumer(bootstrap_servers=[args.bootstrap], api_version=None, group_id=None,
                         enable_auto_commit=False, check_crcs=True, request_timeout_ms=30000)
tp = TopicPartition(args.topic, 0)
consumer.assign([tp])
consumer.seek_to_beginning(tp)
consumed = []
consumer_errors = []
deadline = time.time() + 60
while time.time() < deadline and len(consumed) < args.count:
    try:
        batch = consumer.poll(timeout_ms=500)
    except Exception as e:  # noqa: BLE001
        consumer_errors.append(repr(e))
        break
    for records in batch.values():
        consumed.extend(records)
# Nothing beyond COUNT arrives.
extra = consumer.poll(timeout_ms=300)
extra_count = sum(len(r) for r in extra.values())
consumer.close()

mismatches = []
for i, rec in enumerate(consumed[:args.count]):
    k, v, h = expected[i]
    got = (rec.offset, rec.key, rec.value, [(hk, hv) for (hk, hv) in rec.headers])
    if got != (i, k, v, h):
        mismatches.append('offset %d: got %r' % (i, got))
        if len(mismatches) >= 5:
            break

print(json.dumps({
    'count': args.count,
    'probedApiVersion': probed,
    'producerErrors': producer_errors[:10],
    'offsetsInProduceOrder': offsets == list(range(args.count)),
    'firstOffsets': offsets[:5],
    'consumed': len(consumed) + extra_count,
    'consumerErrors': consumer_errors,
    'mismatches': mismatches,
}))
