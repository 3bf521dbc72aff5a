"""confluent-kafka-python (librdkafka) idempotent acks=all producer that writes until told to stop.

Produces values `<prefix>-<n>` round-robin over PARTITIONS partitions with enable.idempotence=True until the
file --stop-file exists, then flushes. Every delivery report is printed as `D <partition> <offset> <value>`
(stdout, one per line, as it arrives); the last line is a JSON summary. The vitest test checks that every
reported record is in the log exactly once at that offset.
"""
import argparse
import json
import os
import sys
import time

from confluent_kafka import Producer

p = argparse.ArgumentParser()
p.add_argument('--bootstrap', required=True)
p.add_argument('--topic', required=True)
p.add_argument('--partitions', type=int, default=3)
p.add_argument('--prefix', default='rd')
p.add_argument('--stop-file', required=True)
p.add_argument('--rate', type=int, default=500, help='records per second')
args = p.parse_args()

errors = []
delivered = 0


def on_delivery(err, msg):
    global delivered
    if err is not None:
        errors.append(str(err))
        return
    delivered += 1
    sys.stdout.write('D %d %d %s\n' % (msg.partition(), msg.offset(), msg.value().decode()))


producer = Producer({
    'bootstrap.servers': args.bootstrap,
    'enable.idempotence': True,
    'acks': 'all',
    'max.in.flight.requests.per.connection': 5,
    'linger.ms': 5,
    'message.timeout.ms': 120000,
    'error_cb': lambda err: errors.append('error_cb: %s (fatal=%s)' % (err, err.fatal())),
})
n = 0
started = time.time()
while not os.path.exists(args.stop_file):
    due = int((time.time() - started) * args.rate)
    while n < due:
        v = '%s-%d' % (args.prefix, n)
        try:
            producer.produce(args.topic, value=v.encode(), partition=n % args.partitions, on_delivery=on_delivery)
            n += 1
        except BufferError:
            break
    producer.poll(0.01)
    sys.stdout.flush()
remaining = producer.flush(120)
sys.stdout.flush()
fatal = [e for e in errors if 'fatal=True' in e]
print(json.dumps({'produced': n, 'delivered': delivered, 'undelivered': remaining, 'errors': errors[:20], 'fatal': fatal}))
