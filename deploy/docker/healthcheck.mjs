// Docker HEALTHCHECK without a shell or curl in the image: GET /health on this node's metrics.port.
// The ops HTTP server binds the host of the node's listener, so probe that host (a wildcard -> loopback).
// metrics.port -1 (disabled) leaves nothing to probe: report healthy rather than restart a working node.
const port = Number(process.env.FLUXO_METRICS_PORT ?? '9404');
if (port === -1) process.exit(0);
const listeners = (process.env.FLUXO_LISTENERS ?? '').split(',').map((l) => l.trim()).filter(Boolean);
const listener = listeners.find((l) => l.toUpperCase().startsWith('PLAINTEXT://')) ?? listeners[0] ?? '';
let host = /^[A-Za-z_]+:\/\/(\[[^\]]*\]|[^:/]*):\d+$/.exec(listener)?.[1] ?? '';
if (host === '' || host === '0.0.0.0' || host === '[::]') host = '127.0.0.1';
const controller = new AbortController();
setTimeout(() => controller.abort(), 2500).unref();
fetch(`http://${host}:${port}/health`, { signal: controller.signal }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  () => process.exit(1),
);
