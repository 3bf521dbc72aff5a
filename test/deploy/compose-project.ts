import fs from 'node:fs';
import path from 'node:path';
import { expectSuccess, runCommand, type CommandResult } from '../harness/command.js';
import { REPO_ROOT } from '../harness/paths.js';
import { waitFor } from '../harness/poll.js';

const COMPOSE_TIMEOUT_MS = 300_000;

/** /ready on the node's metrics.port (9404 in the compose files): healthy = registered and serving. */
const READY_PROBE = "fetch('http://127.0.0.1:9404/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))";

export interface ComposeProjectOptions {
  /** Compose project name (-p): containers, networks and volumes are prefixed with it. */
  name: string;
  /** The compose file under test, relative to the repository root. */
  file: string;
  /** Fluxo services to start (the core ones: no profile). */
  services: string[];
  /** Network every service is on (the compose file's `fluxo`). */
  network: string;
  image: string;
  /** Extra variables for compose's ${...} substitution. */
  env?: Record<string, string>;
  /** Where the generated override file goes. */
  workDir: string;
}

/**
 * One docker-compose (1.29, `docker-compose`) project of a repository compose file plus a generated override
 * that (1) makes the network `internal: true`, so nothing the containers do can leave the machine and no port
 * is published on the host, and (2) turns each node's healthcheck into a 2-second probe of /ready.
 */
export class ComposeProject {
  private readonly overrideFile: string;

  constructor(private readonly opts: ComposeProjectOptions) {
    this.overrideFile = path.join(opts.workDir, `${opts.name}.override.yml`);
    const healthcheck = { test: ['CMD', 'node', '-e', READY_PROBE], interval: '2s', timeout: '5s', retries: 3, start_period: '300s' };
    const override = {
      version: '3.9',
      networks: { [opts.network]: { internal: true } },
      services: Object.fromEntries(opts.services.map((s) => [s, { healthcheck }])),
    };
    fs.writeFileSync(this.overrideFile, JSON.stringify(override, null, 2)); // JSON is YAML
  }

  /** Docker's name of the project network (compose 1.x: `<project>_<network>`). */
  get dockerNetwork(): string {
    return `${this.opts.name}_${this.opts.network}`;
  }

  compose(args: string[], timeoutMs = COMPOSE_TIMEOUT_MS): Promise<CommandResult> {
    return runCommand('docker-compose', ['-p', this.opts.name, '-f', this.opts.file, '-f', this.overrideFile, ...args], {
      timeoutMs,
      cwd: REPO_ROOT,
      env: { ...process.env, FLUXO_IMAGE: this.opts.image, ...this.opts.env },
    });
  }

  async up(): Promise<void> {
    expectSuccess(await this.compose(['up', '-d', '--no-build', ...this.opts.services]));
  }

  /** Starts more services, e.g. `prometheus` (naming a service starts it whatever its profile). */
  async upMore(services: string[]): Promise<void> {
    expectSuccess(await this.compose(['up', '-d', '--no-build', '--no-deps', ...services]));
  }

  async containerId(service: string): Promise<string> {
    const id = expectSuccess(await this.compose(['ps', '-q', service], 60_000)).trim();
    if (id === '') throw new Error(`no container for service ${service}`);
    return id;
  }

  /** Waits until every listed service's /ready healthcheck passes; fails fast when one has exited. */
  async waitHealthy(services: string[] = this.opts.services, timeoutMs = 240_000): Promise<void> {
    const ids = await Promise.all(services.map((s) => this.containerId(s)));
    let exitedService: string | undefined;
    try {
      await waitFor(
        async () => {
          const r = await runCommand('docker', ['inspect', '--format', '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}', ...ids], { timeoutMs: 30_000 });
          const states = expectSuccess(r).trim().split('\n');
          exitedService = services[states.findIndex((s) => s.startsWith('exited') || s.startsWith('dead'))];
          return exitedService !== undefined || states.every((s) => s === 'running healthy');
        },
        { timeoutMs, intervalMs: 1000, what: `services ${services.join(', ')} to be healthy (/ready)` },
      );
    } catch (err) {
      const tails = await Promise.all(services.map(async (s) => `--- ${s}\n${await this.logs(s, 15)}`));
      throw new Error(`${(err as Error).message}\n${tails.join('\n')}`);
    }
    if (exitedService !== undefined) throw new Error(`${exitedService} exited:\n${await this.logs(exitedService)}`);
  }

  /** SIGKILL, like a machine or zone going away (docker kill). */
  async kill(services: string[]): Promise<void> {
    expectSuccess(await this.compose(['kill', '-s', 'SIGKILL', ...services]));
  }

  async start(services: string[]): Promise<void> {
    expectSuccess(await this.compose(['start', ...services]));
  }

  async logs(service: string, tailLines = 40): Promise<string> {
    const r = await this.compose(['logs', '--no-color', '--tail', String(tailLines), service], 60_000);
    return r.stdout.toString('utf8') + r.stderr;
  }

  /** Removes containers, the network and the named volumes; keeps images (cached for the next run). */
  async down(): Promise<void> {
    await this.compose(['down', '-v', '--remove-orphans', '-t', '5']);
  }
}
