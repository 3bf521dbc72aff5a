import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('..', import.meta.url));

// Tests run against TypeScript sources: @fluxo/<pkg> resolves to packages/<pkg>/src/index.ts, not dist.
// Processes that tests spawn (the node under test in test/compat) run the built dist instead.
export default defineConfig({
  root,
  resolve: {
    alias: [{ find: /^@fluxo\/([a-z-]+)$/, replacement: `${root}packages/$1/src/index.ts` }],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    // The container deployment test builds images and runs docker-compose: its own step (`npm run test:deploy`).
    exclude: ['**/node_modules/**', 'test/deploy/docker-compose.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
