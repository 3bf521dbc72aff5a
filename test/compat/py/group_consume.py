"""Consumer-group member for the groups compat test (confluent-kafka-python or kafka-python).

Subscribes to TOPIC in GROUP, reads until EXPECT records arrived (or --idle-seconds pass with nothing new
after that), commits synchronously, closes (LeaveGroup) and prints one JSON line: the records it got as
[partition, offset, value] plus any errors.
"""
import argparse
import json
import time

p = argparse.ArgumentParser()
p.add_argument('--client', choices=['confluent', 'kafka-python'], required=True)
p.add_argument('--bootstrap', required=True)
p.add_argument('--topic', required=True)
p.add_argument('--group', required=True)
p.add_argument('--expect', type=int, required=True)
p.add_argument('--timeout-seconds', type=float, default=60)
p.add_argument('--idle-seconds', type=float, default=2)
args = p.parse_args()

got = []
errors = []
deadline = time.time() + args.timeout_seconds

if args.client == 'confluent':
    from confluent_kafka import Consumer, KafkaException

    c = Consumer({
        'bootstrap.servers': args.bootstrap,
        'group.id': args.group,
        'auto.offset.reset': 'earliest',
        'enable.auto.commit': False,
        'session.timeout.ms': 10000,
        'error_cb': lambda err: errors.append('error_cb: %s' % err),
    })
    c.subscribe([args.topic])
    idle_since = None
    while time.time() < deadline:
        msg = c.poll(0.2)
        if msg is None:
            if len(got) >= args.expect:
                idle_since = idle_since or time.time()
                if time.time() - idle_since >= args.idle_seconds:
                    break
            continue
        if msg.error():
            errors.append(str(msg.error()))
            continue
        idle_since = None
        got.append([msg.partition(), msg.offset(), msg.value().decode()])
    try:
        if got:
            c.commit(asynchronous=False)
    except KafkaException as e:
        errors.append('commit: %s' % e)
    c.close()
else:
    from kafka import KafkaConsumer

    c = KafkaConsumer(args.topic, bootstrap_servers=[args.bootstrap], group_id=args.group, api_version=None,
                      auto_offset_reset='earliest', enable_auto_commit=False, session_timeout_ms=10000,
                      request_timeout_ms=30000)
    idle_since = None
    while time.time() < deadline:
        batch = c.poll(timeout_ms=200)
        n = 0
        for records in batch.values():
            for r in records:
                got.append([r.partition, r.offset, r.value.decode()])
                n += 1
        if n == 0 and len(got) >= args.expect:
            idle_since = idle_since or time.time()
            if time.time() - idle_since >= args.idle_seconds:
                break
        elif n:
            idle_since = None
    try:
        if got:
            c.commit()
    except Exception as e:  # noqa: BLE001
        errors.append('commit: %r' % e)
    c.close()

print(json.dumps({'got': got, 'errors': errors[:10]}))
