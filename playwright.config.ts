import { defineConfig, devices } from '@playwright/test';
import { readFileSync } from 'node:fs';

// The end-to-end tests run against the production build served from a sub-path, as on GitHub Pages.
const port = Number(process.env.E2E_PORT ?? 4173);
export const basePath = '/sensor-fault-detection/';

// Where Playwright cannot download its own browser (this machine), use the system Chromium.
// The flags (shared with the benchmark) keep Chromium from calling home, which a closed network refuses.
const chromiumArgs = JSON.parse(readFileSync(new URL('./scripts/chromium-args.json', import.meta.url), 'utf8')) as string[];
const executablePath = process.env.PW_CHROMIUM || undefined;

export default defineConfig({
  testDir: 'tests/e2e',
  timeout: 90_000,
  expect: { timeout: 20_000 },
  fullyParallel: false,
  workers: 2,
  retries: 0,
  reporter: [['list']],
  use: {
    ...devices['Desktop Chrome'],
    baseURL: `http://127.0.0.1:${port}${basePath}`,
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    trace: 'retain-on-failure',
    launchOptions: {
      ...(executablePath ? { executablePath } : {}),
      args: chromiumArgs,
    },
  },
  webServer: {
    // vite preview, made to answer like GitHub Pages by the pages-preview plugin in vite.config.ts.
    command: `npx vite preview --base ${basePath} --port ${port} --strictPort --host 127.0.0.1`,
    url: `http://127.0.0.1:${port}${basePath}`,
    reuseExistingServer: !process.env.CI,
    timeout: 30_000,
  },
});
