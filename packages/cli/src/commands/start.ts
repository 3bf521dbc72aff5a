import type { NodeConfigSources } from '@fluxo/broker';
import { createNodeLogger, createRegistry, parseAssignments } from '@fluxo/common';
import { intOption, listOption, stringOption, type ParsedArgs } from '../args.js';
import { UsageError } from '../cli-error.js';
import type { Io } from '../io.js';
import type { Command } from './command.js';
import { configWarnings } from './config.js';

export const startCommand: Command = {
  name: 'start',
  summary: 'run a Fluxo node (broker, controller, or both) in the foreground',
  help: `Usage: fluxo start [--data-dir DIR] [--host H] [--port P] [--config FILE] [--set key=value ...]

Runs a node until SIGINT or SIGTERM, then stops it gracefully (in-flight requests finish, logs close cleanly).
Configuration uses Kafka's broker keys (server.properties). Precedence, lowest first: defaults, --config
file, FLUXO_* environment variables (FLUXO_LOG_RETENTION_MS=... -> log.retention.ms), --set, then the
--data-dir/--host/--port shortcuts.

Options:
  --data-dir DIR       data directory (log.dirs)
  --host H             listener host
  --port P             listener port; 0 picks a free port (logged in "Fluxo node started")
  --config FILE        Java .properties file (like Kafka's server.properties)
  --set key=value      override one broker config key; repeatable
  -h, --help           show this help

Without controller.quorum.voters the node is a single node that is its own controller. With it, the node
joins a cluster (Kafka's KRaft keys): process.roles=broker|controller|broker,controller, node.id, cluster.id
(the same on every node), listeners with a CONTROLLER://host:port entry for controllers, broker.rack.
\`fluxo cluster up\` starts such a cluster locally.

Logs are JSON lines on stdout; log.level or FLUXO_LOG_LEVEL sets the level (default info).`,
  options: {
    'data-dir': { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    config: { type: 'string' },
    set: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  },
  async run(args: ParsedArgs, io: Io): Promise<number> {
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`, 'start');
    const port = intOption(args, 'port', 0, 65535);
    const set = parseAssignments(listOption(args, 'set'));
    const sources: NodeConfigSources = {
      set,
      env: process.env,
    };
    const file = stringOption(args, 'config');
    const dataDir = stringOption(args, 'data-dir');
    const host = stringOption(args, 'host');
    if (file !== undefined) sources.file = file;
    if (dataDir !== undefined) sources.dataDir = dataDir;
    if (host !== undefined) sources.host = host;
    if (port !== undefined) sources.port = port;

    // Loaded on demand: client commands do not pay for storage and broker modules.
    const { resolveNodeConfig } = await import('@fluxo/broker');
    const { FluxoNode } = await import('../node/fluxo-node.js');
    const config = resolveNodeConfig(sources);
    const logger = createNodeLogger(config);
    for (const w of configWarnings(config, process.env)) logger.warn({ key: w.key }, w.message);
    const registry = createRegistry({ defaultMetrics: true, labels: { node_id: String(config.number('node.id')) } });
    const broker = new FluxoNode(config, logger, registry, (err) => {
      logger.fatal({ err }, 'controller failed; exiting (its state on disk is intact, a restart recovers)');
      process.exit(1);
    });

    return new Promise<number>((resolve, reject) => {
      let stopping = false;
      // Installed before start() so that a signal during recovery still ends in a clean stop.
      const started = broker.start();
      const onSignal = (signal: NodeJS.Signals): void => {
        if (stopping) {
          io.stderr.write(`fluxo: second ${signal}, exiting without a clean shutdown\n`);
          resolve(1);
          return;
        }
        stopping = true;
        logger.info({ signal }, 'stopping Fluxo node');
        started
          .catch(() => undefined)
          .then(() => broker.stop())
          .then(
            () => resolve(0),
            (err: unknown) => {
              logger.error({ err }, 'Fluxo node did not stop cleanly');
              resolve(1);
            },
          );
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      started.catch((err: unknown) => {
        if (stopping) return;
        // One structured line for log collectors; the CLI also prints the message to stderr.
        logger.fatal({ err }, `node failed to start: ${(err as Error).message}`);
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
        reject(err as Error);
      });
    });
  },
};
