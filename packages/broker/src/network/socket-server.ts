import { createServer, type Server, type Socket } from 'node:net';
import { assert, type Gauge, type Logger } from '@fluxo/common';
import { Connection, type ConnectionLimits, type RequestRouter } from './connection.js';

/** How long a graceful stop waits for in-flight requests before closing connections anyway. */
const DRAIN_TIMEOUT_MS = 10_000;

/** The Kafka-protocol TCP listener: accepts connections and hands frames to the router. */
export class SocketServer {
  private server: Server | null = null;
  private readonly connections = new Set<Connection>();
  private nextConnectionId = 0;
  private boundPort = -1;

  constructor(
    private readonly opts: {
      host: string;
      port: number;
      limits: ConnectionLimits;
      router: RequestRouter;
      logger: Logger;
      connectionsGauge: Gauge<string>;
    },
  ) {}

  get port(): number {
    assert(this.boundPort >= 0, 'socket server is not listening');
    return this.boundPort;
  }

  async listen(): Promise<void> {
    assert(this.server === null, 'socket server started twice');
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Empty host = all interfaces (Kafka's PLAINTEXT://:9092).
      server.listen({ host: this.opts.host === '' ? undefined : this.opts.host, port: this.opts.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.opts.logger.error({ err }, 'listener error'));
    const address = server.address();
    assert(address !== null && typeof address === 'object', 'listener has no address');
    this.boundPort = address.port;
  }

  private accept(socket: Socket): void {
    const id = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}-${this.nextConnectionId++}`;
    const logger = this.opts.logger.child({ connectionId: id });
    const connection = new Connection(socket, id, logger, this.opts.limits, this.opts.router, (c) => {
      if (this.connections.delete(c)) this.opts.connectionsGauge.dec();
    });
    this.connections.add(connection);
    this.opts.connectionsGauge.inc();
    logger.debug('connection accepted');
  }

  /** Stops accepting, ends long polls, lets in-flight requests answer (bounded), then closes every connection. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const c of this.connections) c.quiesce();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.connections].map((c) => c.whenIdle())),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, DRAIN_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    for (const c of [...this.connections]) c.close('node stopping', 'debug');
    await closed;
  }
}
