import { ErrorCode, KafkaProtocolError, type Logger } from '@fluxo/common';
import { ControllerClient } from '../controller-client.js';
import { voterTarget, type VoterAddress } from '../quorum-config.js';

/** Pause between attempts when no controller answered or none knows a leader (an election is running). */
const RETRY_BACKOFF_MS = 100;

/**
 * A broker's way to the active controller: one client per voter, the last known leader tried first.
 * NOT_CONTROLLER with a leader id switches to that voter; transport errors and leaderless answers move on to
 * the next voter after a short pause, until `timeoutMs` (REQUEST_TIMED_OUT). Other errors are the answer.
 */
export class ControllerChannel {
  private readonly clients = new Map<number, ControllerClient>();
  private readonly order: number[];
  private current: number;
  private closed = false;

  constructor(
    voters: ReadonlyMap<number, VoterAddress>,
    private readonly logger: Logger,
    callDeadlineMs = 5000,
  ) {
    for (const [id, v] of voters) this.clients.set(id, new ControllerClient(voterTarget(v), callDeadlineMs));
    this.order = [...voters.keys()].sort((a, b) => a - b);
    this.current = this.order[0] ?? -1;
  }

  close(): void {
    this.closed = true;
    for (const c of this.clients.values()) c.close();
  }

  /** The voter tried first (the last one that answered as leader, or pointed at one). */
  get likelyLeader(): number {
    return this.current;
  }

  client(nodeId: number): ControllerClient | undefined {
    return this.clients.get(nodeId);
  }

  async call<T>(what: string, fn: (c: ControllerClient) => Promise<T>, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown = null;
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new KafkaProtocolError(ErrorCode.NOT_CONTROLLER, `${what}: the broker is shutting down`);
      const id = this.current;
      const client = this.clients.get(id);
      if (client === undefined) throw new KafkaProtocolError(ErrorCode.NOT_CONTROLLER, 'no controller voters configured');
      try {
        return await fn(client);
      } catch (err) {
        lastError = err;
        const leaderId = err instanceof KafkaProtocolError && err.code === ErrorCode.NOT_CONTROLLER ? (err as KafkaProtocolError & { leaderId?: number }).leaderId : undefined;
        if (err instanceof KafkaProtocolError && err.code !== ErrorCode.NOT_CONTROLLER) throw err;
        if (leaderId !== undefined && leaderId >= 0 && leaderId !== id && this.clients.has(leaderId)) {
          this.current = leaderId; // pointed at the leader: try it at once
          continue;
        }
        this.current = this.next(id);
      }
      if (Date.now() + RETRY_BACKOFF_MS >= deadline) break;
      if (attempt > 0 && attempt % this.order.length === 0) this.logger.debug({ what, err: errorText(lastError) }, 'no active controller answered yet; retrying');
      await new Promise((r) => setTimeout(r, RETRY_BACKOFF_MS));
    }
    throw new KafkaProtocolError(ErrorCode.REQUEST_TIMED_OUT, `${what}: no active controller answered within ${timeoutMs} ms (last error: ${errorText(lastError)})`);
  }

  private next(id: number): number {
    const i = this.order.indexOf(id);
    return this.order[(i + 1) % this.order.length] as number;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
