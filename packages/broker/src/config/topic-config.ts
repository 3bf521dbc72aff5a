import {
  BROKER_KEY_FOR_TOPIC_KEY,
  ConfigError,
  ErrorCode,
  KafkaProtocolError,
  TOPIC_CONFIG,
  formatValue,
  type ConfigValue,
  type ResolvedConfig,
} from '@fluxo/common';

/** A topic's effective configuration: its overrides over the broker-level defaults (Kafka's LogConfig merge). */
export function effectiveTopicConfig(broker: ResolvedConfig, overrides: Readonly<Record<string, string>>): ResolvedConfig {
  const raw: Record<string, string | ConfigValue> = {};
  for (const name of TOPIC_CONFIG.names()) {
    const override = overrides[name];
    if (override !== undefined) raw[name] = override;
    else raw[name] = brokerValue(broker, name);
  }
  return TOPIC_CONFIG.resolve(raw);
}

function brokerValue(broker: ResolvedConfig, topicKey: string): ConfigValue {
  const brokerKey = BROKER_KEY_FOR_TOPIC_KEY.get(topicKey);
  if (brokerKey === undefined) return TOPIC_CONFIG.key(topicKey)!.default ?? null;
  for (const [name, value] of broker.entries()) if (name === brokerKey) return value === null ? null : TOPIC_CONFIG.parseValue(topicKey, value);
  return TOPIC_CONFIG.key(topicKey)!.default ?? null;
}

/** The broker-level default of a topic key as Kafka shows it (string), and the broker key that supplies it. */
export function brokerDefaultForTopicKey(broker: ResolvedConfig, topicKey: string): { brokerKey: string | null; value: string | null; explicit: boolean } {
  const brokerKey = BROKER_KEY_FOR_TOPIC_KEY.get(topicKey) ?? null;
  if (brokerKey === null) return { brokerKey, value: formatValue(TOPIC_CONFIG.key(topicKey)!.default ?? null), explicit: false };
  return { brokerKey, value: formatValue(brokerValue(broker, topicKey)), explicit: broker.isExplicit(brokerKey) };
}

/**
 * Validates topic-level overrides (CreateTopics configs, IncrementalAlterConfigs) and returns them normalised
 * (e.g. "compact, delete" -> "compact,delete"). Unknown keys and bad values -> INVALID_CONFIG naming the key.
 */
export function normalizeTopicConfigs(configs: Readonly<Record<string, string | null>>): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const [name, value] of Object.entries(configs)) {
    if (!TOPIC_CONFIG.has(name)) throw new KafkaProtocolError(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${name}`);
    if (value === null) {
      out[name] = null;
      continue;
    }
    try {
      out[name] = formatValue(TOPIC_CONFIG.parseValue(name, value));
    } catch (err) {
      if (err instanceof ConfigError) throw new KafkaProtocolError(ErrorCode.INVALID_CONFIG, err.message);
      throw err;
    }
  }
  return out;
}
