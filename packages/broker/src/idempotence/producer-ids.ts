import type { BrokerContext } from '../broker-context.js';
import { ProducerIdManager } from './producer-id-manager.js';

const managers = new WeakMap<BrokerContext, ProducerIdManager>();

/** The node's producer id manager, made on first use (one per started broker context). */
export function producerIdsOf(broker: BrokerContext): ProducerIdManager {
  let manager = managers.get(broker);
  if (manager === undefined) {
    manager = new ProducerIdManager(broker.metadata, broker.nodeId, broker.logger.child({ component: 'producer-ids' }));
    managers.set(broker, manager);
  }
  return manager;
}
