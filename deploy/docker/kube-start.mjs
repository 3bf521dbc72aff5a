// `fluxo start` for a StatefulSet pod (deploy/kubernetes/): fills in what a manifest cannot compute, then
// runs the fluxo CLI in this same process (so it gets SIGTERM directly). The image has no shell, hence Node.
//   node.id      pod ordinal (the -N suffix of the pod name) + NODE_ID_OFFSET (controllers 1, brokers 101),
//                unless FLUXO_NODE_ID is set.
//   broker.rack  the topology.kubernetes.io/zone label of the Kubernetes node the pod runs on (KUBE_NODE_NAME
//                from the downward API; read with the pod's service account, which needs `get nodes`), unless
//                FLUXO_BROKER_RACK is set or KUBE_NODE_NAME is not.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { hostname } from 'node:os';

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const ZONE_LABEL = 'topology.kubernetes.io/zone';
const API_TIMEOUT_MS = 10_000;

function fail(message) {
  process.stderr.write(`kube-start: ${message}\n`);
  process.exit(1);
}

function nodeIdFromPodName() {
  const podName = process.env.POD_NAME ?? hostname();
  const match = /-(\d+)$/.exec(podName);
  if (match === null) fail(`cannot take an ordinal from pod name "${podName}" (expected NAME-N); set FLUXO_NODE_ID`);
  const offset = Number(process.env.NODE_ID_OFFSET ?? '0');
  if (!Number.isInteger(offset) || offset < 0) fail(`NODE_ID_OFFSET must be a non-negative integer, got "${process.env.NODE_ID_OFFSET}"`);
  return String(Number(match[1]) + offset);
}

function getJson(path) {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  if (host === undefined) return Promise.reject(new Error('KUBERNETES_SERVICE_HOST is not set (not in a pod?)'));
  const token = readFileSync(`${SERVICE_ACCOUNT_DIR}/token`, 'utf8').trim();
  const ca = readFileSync(`${SERVICE_ACCOUNT_DIR}/ca.crt`);
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, ca, headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, timeout: API_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`GET ${path}: HTTP ${res.statusCode} ${body.slice(0, 200)}`));
        else resolve(JSON.parse(body));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer in ${API_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

async function zoneOfNode(nodeName) {
  const node = await getJson(`/api/v1/nodes/${encodeURIComponent(nodeName)}`);
  const zone = node?.metadata?.labels?.[ZONE_LABEL];
  if (typeof zone !== 'string' || zone === '') fail(`node ${nodeName} has no ${ZONE_LABEL} label; set FLUXO_BROKER_RACK`);
  return zone;
}

if (process.env.FLUXO_NODE_ID === undefined) process.env.FLUXO_NODE_ID = nodeIdFromPodName();
if (process.env.FLUXO_BROKER_RACK === undefined && process.env.KUBE_NODE_NAME) {
  try {
    process.env.FLUXO_BROKER_RACK = await zoneOfNode(process.env.KUBE_NODE_NAME);
  } catch (err) {
    fail(`cannot read the zone of node ${process.env.KUBE_NODE_NAME}: ${err.message}`);
  }
}
process.stderr.write(`kube-start: node.id=${process.env.FLUXO_NODE_ID} broker.rack=${process.env.FLUXO_BROKER_RACK ?? '(none)'}\n`);
const main = new URL('./packages/cli/dist/main.js', import.meta.url);
process.argv = [process.argv[0], main.pathname, 'start', ...process.argv.slice(2)];
await import(main.href);
