// The README's screenshot of the real app: the production build (run `vite build` first; `npm run screenshot`
// does), served under the GitHub Pages sub-path, the sample loaded and predicted, in headless Chromium.
// Writes docs/screenshot.png.
import { mkdirSync, readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { previewServer } from './preview-server.mjs';

const out = new URL('../docs/screenshot.png', import.meta.url).pathname;
const args = JSON.parse(readFileSync(new URL('./chromium-args.json', import.meta.url), 'utf8'));
const server = await previewServer('dist', '/sensor-fault-detection/');
const browser = await chromium.launch({ executablePath: process.env.PW_CHROMIUM || '/usr/bin/chromium', args });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  await page.goto(server.url);
  await page.locator('[data-testid=engine-status][data-state=ready]').waitFor();
  await page.getByRole('button', { name: /try a sample/i }).click();
  await page.locator('[data-testid=summary][data-scored="100"]').waitFor();
  await page.getByTestId('sort-order').selectOption('probability-desc');
  // The grid's window arrives after the order changes: wait until the drawn rows are in descending order.
  await page.waitForFunction(() => {
    const shown = [...document.querySelectorAll('[data-testid=row-probability]')].map((e) => Number(e.textContent));
    return shown.length > 1 && shown.every((p, i) => i === 0 || p <= (shown[i - 1] ?? 1));
  });
  mkdirSync(new URL('../docs/', import.meta.url), { recursive: true });
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  server.child.kill();
}
