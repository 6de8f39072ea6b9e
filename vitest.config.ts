import { defineConfig } from 'vitest/config';

// the test VM (scripts/vm) is software-emulated and sets this; on a host it is 1
const scale = Number(process.env.BOXLAB_TEST_TIME_SCALE) || 1;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // node-pty and sandboxes want real processes, not worker threads
    pool: 'forks',
    testTimeout: 30_000 * scale,
    hookTimeout: 60_000 * scale,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
