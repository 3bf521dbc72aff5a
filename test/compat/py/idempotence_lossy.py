"""confluent-kafka-python (librdkafka) idempotent producer through a connection that loses Produce responses.

Produces COUNT messages to partition 0 with enable.idempotence=True while the test's proxy cuts connections
after the broker answered some Produce requests (librdkafka retries batches the log already holds), then reads
the partition to its end. Transport errors are expected and only counted; fatal errors and failed deliveries
are problems. Prints one JSON object (last stdout line).
"""
import argparse
import json
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

p = argparse.ArgumentParser()
p.add_argument('--bootstrap', required=True)
p.add_argument('--topic', required=True)
p.add_argument('--count', type=int, default=1000)
p.add_argument('--prefix', default='lossy')
args = p.parse_args()

transport_errors = []
fatal_errors = []
delivery_errors = []
delivered = {}


def on_error(err):
    if err.fatal():
        fatal_errors.append(str(err))
    else:
        transport_errors.append(str(err))


def on_delivery(err, msg):
    if err is not None:
        delivery_errors.append(str(err))
    else:
        delivered[msg.value().decode()] = msg.offset()


producer = Producer({
    'bootstrap.servers': args.bootstrap,
    'enable.idempotence': True,
    'linger.ms': 5,
    'batch.num.messages': 50,
    'retry.backoff.ms': 50,
    'reconnect.backoff.ms': 20,
    'message.timeout.ms': 60000,
    'error_cb': on_error,
})
values = ['%s-%d' % (args.prefix, i) for i in range(args.count)]
for v in values:
    while True:
        try:
            producer.produce(args.topic, value=v.encode(), partition=0, on_delivery=on_delivery)
            break
        except BufferError:
            producer.poll(0.05)
    producer.poll(0)
remaining = producer.flush(60)

consumer = Consumer({
    'bootstrap.servers': args.bootstrap,
    'group.id': 'compat-lossy-%s' % args.topic,
    'enable.auto.commit': False,
    'enable.partition.eof': True,
    'fetch.wait.max.ms': 100,
})
consumer.assign([TopicPartition(args.topic, 0, 0)])
consumed = []
deadline = time.time() + 60
eof = False
while time.time() < deadline and not eof:
    msg = consumer.poll(0.5)
    if msg is None:
        continue
    if msg.error():
        if msg.error().code() == KafkaError._PARTITION_EOF and len(consumed) >= len(delivered):
            eof = True
        continue
    consumed.append((msg.offset(), msg.value().decode()))
consumer.close()

mine = [(o, v) for (o, v) in consumed if v.startswith(args.prefix + '-')]
print(json.dumps({
    'notFlushed': remaining,
    'delivered': len(delivered),
    'deliveryErrors': delivery_errors[:10],
    'fatalErrors': fatal_errors[:10],
    'transportErrors': len(transport_errors),
    'consumedValues': [v for (_, v) in mine],
    'offsetsMatchDelivery': all(delivered.get(v) == o for (o, v) in mine),
    'offsetsContiguous': [o for (o, _) in consumed] == list(range(consumed[0][0], consumed[0][0] + len(consumed))) if consumed else True,
}))
