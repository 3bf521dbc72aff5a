import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger, Registry } from '@fluxo/common';

export interface OpsServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  registry: Registry;
  /** True once the node serves clients (registered, logs open); `/ready` answers 503 until then. */
  isReady: () => boolean;
  logger: Logger;
}

/**
 * The operator's HTTP port (`metrics.port`): Prometheus `/metrics`, `/health` (the process is alive and
 * answering) and `/ready` (the node serves clients) for orchestrator probes. GET only; nothing else.
 */
export class OpsServer {
  private readonly server: Server;
  private boundPort = -1;

  constructor(private readonly opts: OpsServerOptions) {
    this.server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
        opts.logger.error({ err, url: req.url }, 'ops request failed');
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
  }

  get port(): number {
    return this.boundPort;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (this.server.address() as AddressInfo).port;
    this.opts.logger.info({ host: this.opts.host, port: this.boundPort }, 'metrics and health endpoints listening');
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    switch (path) {
      case '/metrics': {
        const body = await this.opts.registry.metrics();
        res.writeHead(200, { 'content-type': this.opts.registry.contentType }).end(body);
        return;
      }
      case '/health':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"alive"}\n');
        return;
      case '/ready': {
        const ready = this.opts.isReady();
        res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(ready ? '{"status":"ready"}\n' : '{"status":"starting"}\n');
        return;
      }
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /health or /ready\n');
    }
  }
}
