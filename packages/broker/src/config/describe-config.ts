import { BROKER_CONFIG, TOPIC_CONFIG, type ConfigType, type ResolvedConfig } from '@fluxo/common';
import { brokerDefaultForTopicKey, effectiveTopicConfig } from './topic-config.js';

/** Kafka's DescribeConfigsResponse.ConfigSource. */
export const ConfigSource = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
} as const;

/** Kafka's DescribeConfigsResponse.ConfigType (v3+). */
const CONFIG_TYPE: Record<ConfigType, number> = { boolean: 1, string: 2, int: 3, long: 5, double: 6, list: 7, password: 9 };

export interface ConfigSynonym {
  readonly name: string;
  readonly value: string | null;
  readonly source: number;
}

export interface DescribedConfig {
  readonly name: string;
  readonly value: string | null;
  readonly readOnly: boolean;
  readonly source: number;
  readonly isSensitive: boolean;
  /** Highest precedence first, the entry itself included (Kafka's order). */
  readonly synonyms: readonly ConfigSynonym[];
  readonly configType: number;
  readonly documentation: string | null;
}

/** Every topic-level key with its effective value, where it comes from, and the keys it overrides. */
export function describeTopicConfigs(broker: ResolvedConfig, overrides: Readonly<Record<string, string>>): DescribedConfig[] {
  const effective = effectiveTopicConfig(broker, overrides);
  const values = new Map(effective.entries());
  return TOPIC_CONFIG.names().map((name) => {
    const key = TOPIC_CONFIG.key(name)!;
    const fallback = brokerDefaultForTopicKey(broker, name);
    const synonyms: ConfigSynonym[] = [];
    const override = overrides[name];
    if (override !== undefined) synonyms.push({ name, value: override, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
    if (fallback.brokerKey !== null && fallback.explicit) synonyms.push({ name: fallback.brokerKey, value: fallback.value, source: ConfigSource.STATIC_BROKER_CONFIG });
    if (fallback.brokerKey !== null) {
      const brokerKey = BROKER_CONFIG.key(fallback.brokerKey);
      const dflt = brokerKey?.default;
      synonyms.push({ name: fallback.brokerKey, value: dflt === undefined || dflt === null ? null : Array.isArray(dflt) ? dflt.join(',') : String(dflt), source: ConfigSource.DEFAULT_CONFIG });
    }
    const isSensitive = key.type === 'password';
    return {
      name,
      value: isSensitive ? null : (values.get(name) ?? null),
      readOnly: false,
      source: synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG,
      isSensitive,
      synonyms,
      configType: CONFIG_TYPE[key.type],
      documentation: key.doc,
    };
  });
}

/** The node's static configuration: read-only (no dynamic broker configs yet). */
export function describeBrokerConfigs(broker: ResolvedConfig): DescribedConfig[] {
  const values = new Map(broker.entries());
  return BROKER_CONFIG.names().map((name) => {
    const key = BROKER_CONFIG.key(name)!;
    const isSensitive = key.type === 'password';
    const source = broker.isExplicit(name) ? ConfigSource.STATIC_BROKER_CONFIG : ConfigSource.DEFAULT_CONFIG;
    const value = isSensitive ? null : (values.get(name) ?? null);
    return { name, value, readOnly: true, source, isSensitive, synonyms: [{ name, value, source }], configType: CONFIG_TYPE[key.type], documentation: key.doc };
  });
}
