import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expectSuccess, runCommand } from '../harness/command.js';

/** Debian's Prometheus server (package `prometheus`), the same one the metrics tests run. */
export const PROMETHEUS_BINARY = '/usr/bin/prometheus';

/**
 * A stand-in for the prom/prometheus image the compose `monitoring` profile names, which cannot be pulled
 * here: Debian's prometheus binary and the shared libraries it links, `docker import`ed with the official
 * image's entrypoint (/bin/prometheus), user (nobody) and data dir (/prometheus).
 */
export async function buildPrometheusImage(tag: string): Promise<void> {
  const rootfs = fs.mkdtempSync(path.join(os.tmpdir(), 'fluxo-prometheus-rootfs-'));
  try {
    const copy = (file: string, to = file): void => {
      fs.mkdirSync(path.join(rootfs, path.dirname(to)), { recursive: true });
      fs.copyFileSync(fs.realpathSync(file), path.join(rootfs, to));
    };
    copy(PROMETHEUS_BINARY, '/bin/prometheus');
    fs.chmodSync(path.join(rootfs, 'bin/prometheus'), 0o755);
    const ldd = expectSuccess(await runCommand('ldd', [PROMETHEUS_BINARY], { timeoutMs: 10_000 }));
    for (const m of ldd.matchAll(/(\/[^\s]+\.so[^\s]*)/g)) copy(m[1]!);
    for (const dir of ['prometheus', 'etc/prometheus', 'tmp']) fs.mkdirSync(path.join(rootfs, dir), { recursive: true });
    fs.chownSync(path.join(rootfs, 'prometheus'), 65534, 65534);
    fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
    const r = await runCommand(
      'bash',
      ['-c', 'tar -C "$1" -c . | docker import --change "$2" --change "$3" --change "$4" - "$5"', 'import',
        rootfs, 'ENTRYPOINT ["/bin/prometheus"]', 'USER 65534:65534', 'WORKDIR /prometheus', tag],
      { timeoutMs: 120_000 },
    );
    expectSuccess(r);
  } finally {
    fs.rmSync(rootfs, { recursive: true, force: true });
  }
}
