import type { Logger, ResolvedConfig } from '@fluxo/common';
import type { TopicRegistry } from './cluster/topic-registry.js';
import type { HandlerRegistry } from './handlers/registry.js';
import type { MetadataStore } from './metadata/metadata-store.js';
import type { BrokerMetrics } from './metrics.js';
import type { TopicAdmin } from './cluster/topic-admin.js';
import type { GroupCoordinator } from './group/group-coordinator.js';

/** What request handlers may use: the node's services, built once by Broker.start(). */
export interface BrokerContext {
  readonly nodeId: number;
  readonly config: ResolvedConfig;
  readonly metadata: MetadataStore;
  readonly topics: TopicRegistry;
  readonly admin: TopicAdmin;
  /** Consumer groups and committed offsets (__consumer_offsets). */
  readonly groups: GroupCoordinator;
  readonly handlers: HandlerRegistry;
  readonly metrics: BrokerMetrics;
  readonly logger: Logger;
  /** The address clients are told to dial (Metadata brokers list). */
  advertised(): { host: string; port: number; rack: string | null };
  nowMs(): number;
}
