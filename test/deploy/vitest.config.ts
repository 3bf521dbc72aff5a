import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('../..', import.meta.url));

// The container deployment test on its own (image build + docker-compose: minutes, not seconds):
//   npx vitest run --config test/deploy/vitest.config.ts
// Same @fluxo/<pkg> -> sources alias as test/vitest.config.ts.
export default defineConfig({
  root,
  resolve: {
    alias: [{ find: /^@fluxo\/([a-z-]+)$/, replacement: `${root}packages/$1/src/index.ts` }],
  },
  test: {
    include: ['test/deploy/docker-compose.test.ts'],
    testTimeout: 15 * 60_000,
    hookTimeout: 30 * 60_000,
    pool: 'forks',
    // One engine, one set of containers at a time.
    fileParallelism: false,
  },
});
