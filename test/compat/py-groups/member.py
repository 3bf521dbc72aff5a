"""A consumer-group member with manual commits, for the multi-process group tests.

Clients: confluent-kafka-python (librdkafka) or kafka-python. Subscribes to TOPIC in GROUP (auto.offset.reset
earliest, enable.auto.commit false) and prints one JSON line per event, in the order they happened, so the
test can reconstruct who owned which partition and what was committed when:

  {"e":"ready"}                                   after subscribe
  {"e":"assigned","p":[partitions]}               partitions received in a rebalance
  {"e":"revoked","p":[partitions]}                partitions given up in a rebalance
  {"e":"m","p":partition,"o":offset,"v":value}    a record processed
  {"e":"c","p":partition,"o":offset}              a commit that succeeded (o = next offset to read)
  {"e":"cerr","why":text}                         a commit that failed
  {"e":"err","why":text}                          any other client error
  {"e":"done","n":records}                        last line, after close()

Commits are synchronous, of the current positions, every --commit-every records, at the end with
--commit-at-end and before partitions are given up with --commit-on-revoke. Without the latter two a member
that leaves or loses partitions leaves up to --commit-every - 1 records uncommitted: the duplicates the test
bounds. Stops after --max records, or --idle-seconds
without records once --expect were processed, or on SIGTERM (closes cleanly: LeaveGroup).
"""
import argparse
import json
import signal
import sys
import time

p = argparse.ArgumentParser()
p.add_argument('--client', choices=['confluent', 'kafka-python'], required=True)
p.add_argument('--bootstrap', required=True)
p.add_argument('--topic', required=True)
p.add_argument('--group', required=True)
p.add_argument('--commit-every', type=int, default=0)
p.add_argument('--commit-at-end', action='store_true')
p.add_argument('--commit-on-revoke', action='store_true', help='also commit in the revoke callback')
p.add_argument('--max', type=int, default=0, help='stop after this many records (0: no limit)')
p.add_argument('--expect', type=int, default=0, help='with --idle-seconds: stop when idle after this many')
p.add_argument('--idle-seconds', type=float, default=0)
p.add_argument('--timeout-seconds', type=float, default=120)
args = p.parse_args()

stopping = False


def on_term(signum, frame):  # noqa: ARG001
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, on_term)


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(',', ':')) + '\n')
    sys.stdout.flush()


processed = 0
deadline = time.time() + args.timeout_seconds


def should_stop(idle_since):
    if stopping or time.time() > deadline:
        return True
    if args.max and processed >= args.max:
        return True
    if args.idle_seconds and processed >= args.expect and idle_since is not None:
        return time.time() - idle_since >= args.idle_seconds
    return False


if args.client == 'confluent':
    from confluent_kafka import Consumer, KafkaError, KafkaException

    def on_assign(consumer, partitions):  # noqa: ARG001
        emit({'e': 'assigned', 'p': sorted(tp.partition for tp in partitions)})

    def on_revoke(consumer, partitions):  # noqa: ARG001
        if args.commit_on_revoke:
            commit()
        emit({'e': 'revoked', 'p': sorted(tp.partition for tp in partitions)})

    c = Consumer({
        'bootstrap.servers': args.bootstrap,
        'group.id': args.group,
        'auto.offset.reset': 'earliest',
        'enable.auto.commit': False,
        'session.timeout.ms': 10000,
        'heartbeat.interval.ms': 500,
        'partition.assignment.strategy': 'range,roundrobin',
        'error_cb': lambda err: emit({'e': 'err', 'why': str(err)}),
    })
    c.subscribe([args.topic], on_assign=on_assign, on_revoke=on_revoke)
    emit({'e': 'ready'})

    def commit():
        try:
            for tp in c.commit(asynchronous=False) or []:
                if tp.error is not None:
                    emit({'e': 'cerr', 'why': '%d: %s' % (tp.partition, tp.error)})
                elif tp.offset >= 0:
                    emit({'e': 'c', 'p': tp.partition, 'o': tp.offset})
        except KafkaException as e:
            if e.args and e.args[0].code() == KafkaError._NO_OFFSET:
                return  # nothing processed since the last commit
            emit({'e': 'cerr', 'why': str(e)})

    idle_since = None
    since_commit = 0
    while not should_stop(idle_since):
        msg = c.poll(0.1)
        if msg is None:
            idle_since = idle_since or time.time()
            continue
        if msg.error():
            emit({'e': 'err', 'why': str(msg.error())})
            continue
        idle_since = None
        emit({'e': 'm', 'p': msg.partition(), 'o': msg.offset(), 'v': msg.value().decode()})
        processed += 1
        since_commit += 1
        if args.commit_every and since_commit >= args.commit_every:
            commit()
            since_commit = 0
    if args.commit_at_end and processed:
        commit()
    c.close()
else:
    from kafka import KafkaConsumer, ConsumerRebalanceListener

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            if args.commit_on_revoke:
                commit()
            emit({'e': 'revoked', 'p': sorted(tp.partition for tp in revoked)})

        def on_partitions_assigned(self, assigned):
            emit({'e': 'assigned', 'p': sorted(tp.partition for tp in assigned)})

    c = KafkaConsumer(bootstrap_servers=[args.bootstrap], group_id=args.group, api_version=None,
                      auto_offset_reset='earliest', enable_auto_commit=False, session_timeout_ms=10000,
                      heartbeat_interval_ms=500, request_timeout_ms=30000)
    c.subscribe([args.topic], listener=Listener())
    emit({'e': 'ready'})

    def commit():
        offsets = c._subscription.all_consumed_offsets()  # what commit() sends: the positions
        try:
            c.commit(offsets)
            for tp, om in offsets.items():
                emit({'e': 'c', 'p': tp.partition, 'o': om.offset})
        except Exception as e:  # noqa: BLE001
            emit({'e': 'cerr', 'why': repr(e)})

    idle_since = None
    since_commit = 0
    while not should_stop(idle_since):
        # Never past --max, and commits land exactly every --commit-every records (as with confluent).
        room = min(args.max - processed if args.max else 500, args.commit_every - since_commit if args.commit_every else 500)
        batch = c.poll(timeout_ms=100, max_records=max(1, min(500, room)))
        n = 0
        for records in batch.values():
            for r in records:
                emit({'e': 'm', 'p': r.partition, 'o': r.offset, 'v': r.value.decode()})
                n += 1
        processed += n
        since_commit += n
        if n == 0:
            idle_since = idle_since or time.time()
            continue
        idle_since = None
        if args.commit_every and since_commit >= args.commit_every:
            commit()
            since_commit = 0
    if args.commit_at_end and processed:
        commit()
    c.close(autocommit=False)

emit({'e': 'done', 'n': processed})
