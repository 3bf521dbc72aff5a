"""librdkafka (confluent-kafka-python) consume throughput for bench/run.mjs: reads COUNT records of
partition 0 of TOPIC from the beginning via assign() and prints one JSON line with elapsed time and rates."""
import argparse
import json
import time

from confluent_kafka import Consumer, TopicPartition

p = argparse.ArgumentParser()
p.add_argument('--bootstrap', required=True)
p.add_argument('--topic', required=True)
p.add_argument('--count', type=int, required=True)
args = p.parse_args()

c = Consumer({
    'bootstrap.servers': args.bootstrap,
    'group.id': 'bench-assign',
    'enable.auto.commit': False,
    'fetch.max.bytes': 52_428_800,
    'max.partition.fetch.bytes': 10_485_760,
    'queued.min.messages': 200_000,
})
c.assign([TopicPartition(args.topic, 0, 0)])
got = 0
size = 0
errors = []
start = time.perf_counter()
deadline = time.time() + 120
while got < args.count and time.time() < deadline:
    for m in c.consume(10_000, 1.0):
        if m.error():
            if len(errors) < 10:
                errors.append(str(m.error()))
            continue
        got += 1
        size += len(m.value())
elapsed = time.perf_counter() - start
c.close()
print(json.dumps({'count': got, 'errors': errors, 'elapsedSec': elapsed, 'msgsPerSec': got / elapsed, 'mbPerSec': size / elapsed / 1e6}))
