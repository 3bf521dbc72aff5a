export { Broker, METADATA_DIR, type BrokerOptions } from './broker.js';
export { resolveNodeConfig, type NodeConfigSources } from './config/node-config.js';
export { parseListener, parseListeners, clientListener, formatListener, type Listener } from './config/listeners.js';
export { effectiveTopicConfig } from './config/topic-config.js';
export type { MetadataStore, MetadataListener } from './metadata/metadata-store.js';
export { LevelMetadataStore } from './metadata/level-metadata-store.js';
export { createHandlerRegistry } from './handlers/index.js';
export type { AdvertisedVersion } from './handlers/registry.js';
export { OpsServer, type OpsServerOptions } from './http/ops-server.js';
