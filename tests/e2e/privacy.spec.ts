/**
 * No data leaves the browser: every request of a full session stays on the page's origin, and the
 * Content-Security-Policy (a <meta> tag: a static host cannot send headers) blocks any other origin — in the page
 * and in the engine worker, which holds the user's file.
 */
import { readFileSync } from 'node:fs';
import type { Page, Worker } from '@playwright/test';
import { expect, golden, openApp, records, sampleText, test } from './fixtures';

const EXPECTED_CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; connect-src 'self'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data: blob:; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'none'";

/** Another origin that is reachable (same server, other host name): only the policy can stop a request to it. */
function otherOrigin(baseURL: string | undefined): string {
  const url = new URL(baseURL ?? 'http://127.0.0.1:4173/');
  url.hostname = url.hostname === 'localhost' ? '127.0.0.1' : 'localhost';
  return new URL('models/model.json', url).href;
}

async function downloadText(page: Page, testId: string): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  return readFileSync(await download.path(), 'utf8');
}

test('a full session (load, sample, edit, threshold, both downloads, model card) makes no request outside the origin', async ({
  page,
  baseURL,
  foreignRequests,
}) => {
  const all: string[] = [];
  page.on('request', (request) => all.push(request.url()));
  await openApp(page);

  await page.getByTestId('sample-button').click();
  await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', '100');

  // Edit one cell.
  const header = records(sampleText)[0].split(',');
  const col = header.indexOf('Sensor-2');
  const cell = page.locator(`[data-testid="grid-cell"][data-row="0"][data-col="${col}"]`);
  await page.getByTestId('grid').evaluate((el, c) => (el.scrollLeft = Math.max(0, c * 110 - 300)), col);
  await cell.dblclick();
  await page.getByTestId('cell-editor').fill('2500.5');
  await page.getByTestId('cell-editor').press('Enter');
  await expect(cell).toContainText('2500.5');

  // Move the threshold.
  const sorted = [...golden.sample.probabilities].sort((a, b) => b - a);
  await page.getByTestId('threshold-input').fill(String(Number(((sorted[4] + sorted[5]) / 2).toFixed(6))));
  await page.getByTestId('threshold-input').press('Enter');
  await expect(page.getByTestId('summary')).toHaveAttribute('data-flagged', /^\d+$/);

  // Both downloads.
  expect(records(await downloadText(page, 'download-button'))).toHaveLength(101);
  expect(records(await downloadText(page, 'download-flagged-button')).length).toBeGreaterThan(1);

  // The model card.
  await page.getByTestId('model-card').locator('summary').click();
  await expect(page.getByTestId('model-card').locator('details')).toHaveAttribute('open', '');

  const origin = new URL(baseURL ?? '').origin;
  const network = all.filter((u) => !u.startsWith('blob:') && !u.startsWith('data:'));
  expect(network.length).toBeGreaterThan(3);
  expect(network.filter((u) => new URL(u).origin !== origin)).toEqual([]);
  expect(foreignRequests).toEqual([]);
});

test('the built page carries the CSP meta tag: only its own origin, no remote scripts', async ({ page, request }) => {
  const html = await (await request.get('./')).text();
  const meta = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"/.exec(html);
  expect(meta?.[1]).toBe(EXPECTED_CSP);
  // No script or stylesheet from elsewhere: every src/href in the page is relative.
  for (const [, url] of html.matchAll(/(?:src|href)="([^"]*)"/g)) expect(url).not.toMatch(/^(?:[a-z]+:)?\/\//i);

  await openApp(page);
  await expect(page.locator('meta[http-equiv="Content-Security-Policy"]')).toHaveAttribute('content', EXPECTED_CSP);
});

/** fetch() another origin from the given context; reports whether it was sent and which directive blocked it. */
const tryFetch = async (url: string) => {
  let violated = '';
  const target = (globalThis as unknown as { document?: EventTarget }).document ?? globalThis;
  target.addEventListener('securitypolicyviolation', (e) => {
    violated = (e as SecurityPolicyViolationEvent).effectiveDirective;
  });
  const outcome = await fetch(url, { mode: 'no-cors' }).then(
    () => 'sent',
    () => 'blocked',
  );
  await new Promise((resolve) => setTimeout(resolve, 100));
  return { outcome, violated };
};

test('a fetch to another origin is blocked by the policy, from the page and from the engine worker', async ({ page, baseURL }) => {
  const workers: Worker[] = [];
  page.on('worker', (worker) => workers.push(worker));
  await openApp(page);
  const url = otherOrigin(baseURL);

  expect(await page.evaluate(tryFetch, url)).toEqual({ outcome: 'blocked', violated: 'connect-src' });
  expect(await page.evaluate(() => fetch('http://example.invalid/x').then(() => 'sent', () => 'blocked'))).toBe('blocked');

  // The engine worker and its parse workers read the user's file: they must be under the same policy (each is
  // started from a blob: URL, which inherits its creator's CSP; a worker script loaded from its own URL would not be).
  await expect.poll(() => workers.length).toBeGreaterThanOrEqual(2); // the engine + at least one parse worker
  for (const worker of workers) {
    expect(worker.url()).toMatch(/^blob:/);
    expect(await worker.evaluate(tryFetch, url)).toEqual({ outcome: 'blocked', violated: 'connect-src' });
  }
});
