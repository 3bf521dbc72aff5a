"""Continuous acks=all producer for the crash test.

Produces values "<prefix>-<seq:09d>" to partition 0 as fast as librdkafka allows (bounded in flight) and,
for every acknowledged message, appends "<offset> <value>" to ACK_FILE (line-buffered, so the file holds
every acknowledgement this process received even if it is SIGKILLed). Runs until killed or --max-seconds.
"""
import argparse
import sys
import time

from confluent_kafka import Producer

p = argparse.ArgumentParser()
p.add_argument('--bootstrap', required=True)
p.add_argument('--topic', required=True)
p.add_argument('--ack-file', required=True)
p.add_argument('--prefix', required=True)
p.add_argument('--max-seconds', type=float, default=120)
args = p.parse_args()

acks = open(args.ack_file, 'a', buffering=1)
errors = 0


def on_delivery(err, msg):
    global errors
    if err is not None:
        errors += 1
        return
    acks.write('%d %s\n' % (msg.offset(), msg.value().decode()))


producer = Producer({
    'bootstrap.servers': args.bootstrap,
    'acks': 'all',
    'linger.ms': 2,
    'message.timeout.ms': 300000,
    'queue.buffering.max.messages': 20000,
})
deadline = time.time() + args.max_seconds
seq = 0
while time.time() < deadline:
    value = ('%s-%09d' % (args.prefix, seq)).encode() + b'.' * 200
    try:
        producer.produce(args.topic, value=value, key=str(seq).encode(), partition=0, on_delivery=on_delivery)
        seq += 1
    except BufferError:
        producer.poll(0.01)
    producer.poll(0)
producer.flush(30)
print('produced %d, delivery errors %d' % (seq, errors), file=sys.stderr)
