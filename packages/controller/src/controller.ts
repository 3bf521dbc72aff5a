import type { Logger, Registry } from '@fluxo/common';
import { ControllerNode } from './controller-node.js';
import { ControllerServer } from './grpc-server.js';
import type { ControllerConfig } from './quorum-config.js';

/** A controller process's parts: the raft node and its gRPC server (raft transport + controller API). */
export class Controller {
  readonly node: ControllerNode;
  private readonly server: ControllerServer;
  private boundPort = 0;

  constructor(
    readonly config: ControllerConfig,
    private readonly logger: Logger,
    registry: Registry,
    onFatal: (err: Error) => void,
  ) {
    this.node = new ControllerNode(config, logger, registry, onFatal);
    this.server = new ControllerServer(this.node, logger, config.maxMessageBytes);
  }

  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    await this.node.start();
    try {
      this.boundPort = await this.server.listen(this.config.host, this.config.port);
    } catch (err) {
      await this.node.stop();
      throw err;
    }
    this.logger.info(
      { host: this.config.host, port: this.boundPort, dataDir: this.config.dataDir, voters: [...this.config.voters.keys()] },
      'controller started',
    );
  }

  async stop(): Promise<void> {
    // Node first: it ends the watch streams and answers late calls with NOT_CONTROLLER; then the server.
    await this.node.stop();
    await this.server.close();
    this.logger.info({ nodeId: this.config.nodeId }, 'controller stopped');
  }
}
