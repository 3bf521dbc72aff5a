import type { BrokerContext } from '../broker-context.js';
import type { GroupCoordinator } from '../group/group-coordinator.js';

/** The node's group coordinator. */
export function groupsOf(broker: BrokerContext): GroupCoordinator {
  return broker.groups;
}

/** Kafka's clientHost as DescribeGroups shows it ("/127.0.0.1"), from the connection id "<addr>:<port>-<n>". */
export function clientHostOf(connectionId: string): string {
  const withoutSeq = connectionId.replace(/-\d+$/, '');
  const host = withoutSeq.replace(/:[^:]*$/, '');
  return `/${host.replace(/^::ffff:/, '')}`;
}

/**
 * Resolves with the coordinator's answer, or with `onAbort()` when the connection closes or the node stops
 * first (a JoinGroup/SyncGroup may wait up to the rebalance timeout).
 */
export function untilAborted<T>(answer: Promise<T>, signal: AbortSignal, onAbort: () => T): Promise<T> {
  if (signal.aborted) return Promise.resolve(onAbort());
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => resolve(onAbort());
    signal.addEventListener('abort', abort, { once: true });
    answer.then(
      (v) => {
        signal.removeEventListener('abort', abort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(err);
      },
    );
  });
}
