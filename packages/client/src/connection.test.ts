import net from 'node:net';
import { ErrorCode } from '@fluxo/common';
import { apis, decodeRequestFrame, encodeResponseFrame } from '@fluxo/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection } from './connection.js';
import { FrameReader } from './frame-reader.js';

/** A tiny scripted Kafka server on a real socket: `respond` decides what to answer to each request. */
async function scriptedServer(
  respond: (req: { apiKey: number; apiVersion: number; correlationId: number; body: unknown }, socket: net.Socket) => void,
): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const frames = new FrameReader(1 << 20);
    socket.on('data', (chunk: Buffer) => {
      for (const frame of frames.push(chunk)) {
        const { header, body } = decodeRequestFrame(frame);
        respond({ apiKey: header.apiKey, apiVersion: header.apiVersion, correlationId: header.correlationId, body }, socket);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const apiVersionsBody = (errorCode: number, keys: [number, number, number][]) => ({
  errorCode,
  apiKeys: keys.map(([apiKey, minVersion, maxVersion]) => ({ apiKey, minVersion, maxVersion })),
  throttleTimeMs: 0,
});

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

describe('Connection against a scripted server', () => {
  it('falls back to ApiVersions v0 when the broker answers UNSUPPORTED_VERSION, then picks the highest common versions', async () => {
    const seenVersions: number[] = [];
    const server = await scriptedServer((req, socket) => {
      if (req.apiKey !== 18) return;
      seenVersions.push(req.apiVersion);
      // An old broker: only ApiVersions v0; it answers newer versions in v0 with UNSUPPORTED_VERSION (Kafka's rule).
      const body =
        req.apiVersion > 0
          ? apiVersionsBody(ErrorCode.UNSUPPORTED_VERSION, [[18, 0, 0]])
          : apiVersionsBody(ErrorCode.NONE, [
              [18, 0, 0],
              [3, 0, 5],
              [0, 0, 5],
              [1, 0, 3],
            ]);
      socket.write(encodeResponseFrame(18, 0, req.correlationId, body));
    });
    cleanup = server.close;
    const connection = new Connection({ host: '127.0.0.1', port: server.port, clientId: 't' });
    await connection.connect();
    expect(seenVersions).toEqual([3, 0]);
    expect(connection.versionFor(apis.Metadata)).toBe(5);
    expect(connection.versionFor(apis.Produce)).toBe(5);
    // Fetch 0-3 does not overlap the client's 4+: unusable, with the Kafka error code.
    expect(() => connection.versionFor(apis.Fetch)).toThrow(expect.objectContaining({ code: ErrorCode.UNSUPPORTED_VERSION }));
    expect(connection.supports(apis.CreateTopics)).toBe(false);
    await connection.close();
  });

  it('never has more than maxInFlightRequests unanswered requests on the wire', async () => {
    const waiting: { correlationId: number; socket: net.Socket }[] = [];
    let maxSeenWaiting = 0;
    const server = await scriptedServer((req, socket) => {
      if (req.apiKey === 18) {
        socket.write(encodeResponseFrame(18, 0, req.correlationId, apiVersionsBody(0, [[18, 0, 3], [3, 0, 12]])));
        return;
      }
      waiting.push({ correlationId: req.correlationId, socket });
      maxSeenWaiting = Math.max(maxSeenWaiting, waiting.length);
    });
    cleanup = server.close;
    const connection = new Connection({ host: '127.0.0.1', port: server.port, clientId: 't', maxInFlightRequests: 3 });
    await connection.connect();
    const version = connection.versionFor(apis.Metadata);
    const sends = Array.from({ length: 10 }, () => connection.send(apis.Metadata, { topics: [] }));
    const answered: number[] = [];
    // Answer whatever arrived, in order, until all ten are done.
    while (answered.length < 10) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      for (const w of waiting.splice(0)) {
        answered.push(w.correlationId);
        w.socket.write(encodeResponseFrame(3, version, w.correlationId, { brokers: [], topics: [], controllerId: -1, clusterId: null }));
      }
    }
    await Promise.all(sends);
    expect(maxSeenWaiting).toBe(3);
    expect(answered).toEqual([...answered].sort((a, b) => a - b));
    await connection.close();
  });

  it('fails pending requests with NETWORK_EXCEPTION when the broker closes the socket', async () => {
    const server = await scriptedServer((req, socket) => {
      if (req.apiKey === 18) socket.write(encodeResponseFrame(18, 0, req.correlationId, apiVersionsBody(0, [[18, 0, 3], [3, 0, 12]])));
      else socket.destroy();
    });
    cleanup = server.close;
    let closed = 0;
    const connection = new Connection({ host: '127.0.0.1', port: server.port, clientId: 't', onClose: () => closed++ });
    await connection.connect();
    await expect(connection.send(apis.Metadata, { topics: [] })).rejects.toMatchObject({ code: ErrorCode.NETWORK_EXCEPTION });
    expect(connection.isClosed).toBe(true);
    expect(closed).toBe(1);
  });

  it('drops the connection on a response with an unknown correlation id', async () => {
    const server = await scriptedServer((req, socket) => {
      if (req.apiKey === 18) socket.write(encodeResponseFrame(18, 0, req.correlationId, apiVersionsBody(0, [[18, 0, 3], [3, 0, 12]])));
      else socket.write(encodeResponseFrame(3, 12, req.correlationId + 1000, { brokers: [], topics: [] }));
    });
    cleanup = server.close;
    const connection = new Connection({ host: '127.0.0.1', port: server.port, clientId: 't' });
    await connection.connect();
    await expect(connection.send(apis.Metadata, { topics: [] })).rejects.toThrow(/unknown correlation id/);
  });
});
