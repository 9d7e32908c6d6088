import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'data/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Interop tests start real notary-server processes on loopback; two
    // cores are shared by everything, so keep the parallelism modest.
    maxWorkers: 2,
  },
});
