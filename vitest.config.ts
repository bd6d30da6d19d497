import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/globalSetup.ts'],
    testTimeout: 120_000,
    // Set-ups start the stand-ins or synthesize whole stages with real bundling (test/infra): minutes on 2 cores.
    hookTimeout: 600_000,
    maxWorkers: 2,
    reporters: ['default', './test/support/summaryReporter.ts'],
    env: {
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    },
  },
});
