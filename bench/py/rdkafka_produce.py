"""librdkafka (confluent-kafka-python) produce load generator for bench/run.mjs.

Sends COUNT records of SIZE bytes to TOPIC with acks=all, either as fast as possible (--rate 0) or paced
at --rate records/s, and measures each record's latency from produce() to its delivery callback. The
record's sequence number travels in its key so the callback finds its send time without a closure.
Prints one JSON line: counts, elapsed seconds, throughput, and latency percentiles in microseconds.
"""
import argparse
import json
import struct
import time

from confluent_kafka import Producer

p = argparse.ArgumentParser()
p.add_argument('--bootstrap', required=True)
p.add_argument('--topic', required=True)
p.add_argument('--count', type=int, required=True)
p.add_argument('--size', type=int, default=1024)
p.add_argument('--rate', type=float, default=0, help='records/s; 0 = unthrottled')
p.add_argument('--codec', default='none')
args = p.parse_args()

sent_at = [0.0] * args.count
latency_us = [0.0] * args.count
delivered = 0
errors = []
perf = time.perf_counter


def on_delivery(err, msg):
    global delivered
    if err is not None:
        if len(errors) < 10:
            errors.append(str(err))
        return
    seq = struct.unpack('>Q', msg.key())[0]
    latency_us[seq] = (perf() - sent_at[seq]) * 1e6
    delivered += 1


producer = Producer({
    'bootstrap.servers': args.bootstrap,
    'acks': 'all',
    'linger.ms': 5,
    'batch.size': 1_000_000,
    'compression.codec': args.codec,
    'queue.buffering.max.messages': 100_000,
    'queue.buffering.max.kbytes': 1_048_576,
    'message.timeout.ms': 120_000,
    'on_delivery': on_delivery,
})
# Warm-up outside the measurement: connection, metadata, first Produce.
producer.produce(args.topic, b'warmup', partition=0, on_delivery=lambda err, msg: None)
producer.flush(30)
payload = bytes((i * 7) % 251 for i in range(args.size))
pack = struct.Struct('>Q').pack
interval = 1.0 / args.rate if args.rate > 0 else 0.0
start = perf()
for seq in range(args.count):
    if interval:
        due = start + seq * interval
        while perf() < due:
            producer.poll(0)
    while True:
        try:
            sent_at[seq] = perf()
            producer.produce(args.topic, payload, pack(seq), partition=0)
            break
        except BufferError:
            producer.poll(0.001)
    if seq % 64 == 0:
        producer.poll(0)
remaining = producer.flush(120)
elapsed = perf() - start

samples = sorted(latency_us[i] for i in range(args.count) if latency_us[i] > 0)


def pct(q):
    if not samples:
        return None
    return round(samples[min(len(samples) - 1, int(q * len(samples)))], 1)


print(json.dumps({
    'count': args.count,
    'delivered': delivered,
    'notFlushed': remaining,
    'errors': errors,
    'elapsedSec': elapsed,
    'msgsPerSec': delivered / elapsed,
    'mbPerSec': delivered * args.size / elapsed / 1e6,
    'latencyUs': {'p50': pct(0.50), 'p99': pct(0.99), 'p999': pct(0.999), 'max': round(samples[-1], 1) if samples else None},
}))
