/**
 * Offline use (service worker, vite-plugin-pwa): after one visit the app opens, loads the model, predicts and
 * downloads with the network off. The engine worker and its parse workers are blob: workers; the onnxruntime wasm
 * and the model files are fetched from inside them, so this also checks that the service worker serves them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, golden, openApp, root, test } from './fixtures';

const dist = join(root, 'dist');

/** Every file of the build, as paths relative to it. */
function builtFiles(): string[] {
  return readdirSync(dist, { recursive: true })
    .map(String)
    .filter((name) => statSync(join(dist, name)).isFile())
    .map((name) => relative(dist, join(dist, name)).split('\\').join('/'));
}

async function downloadText(page: Page): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-button').click()]);
  return readFileSync(await download.path(), 'utf8');
}

async function sampleDownload(page: Page): Promise<string> {
  await page.getByTestId('sample-button').click();
  await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', '100');
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '100');
  return downloadText(page);
}

/** Waits until the service worker has precached everything and controls this page. */
async function waitForOfflineReady(page: Page): Promise<void> {
  await expect(page.getByTestId('offline-ready')).toBeVisible({ timeout: 60_000 });
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
}

test('the service worker precaches every file the app needs, and nothing the app does not read', () => {
  const sw = readFileSync(join(dist, 'sw.js'), 'utf8');
  const precached = [...sw.matchAll(/\{url:"([^"]+)",revision:/g)].map((m) => m[1]);
  // Not precached: the service worker itself and its Workbox runtime, and the bundle's files the page never reads.
  const notForThePage = /^(sw\.js|workbox-[\w-]+\.js|models\/golden\.json|models\/report\.md)$/;
  const expected = builtFiles().filter((name) => !notForThePage.test(name));
  expect(new Set(precached)).toEqual(new Set(expected));
  expect(expected).toEqual(expect.arrayContaining(['index.html', 'models/model.json', 'samples/wafer_23012020_041211.csv']));
  expect(expected.some((name) => /^assets\/ort-wasm-simd-threaded-[\w-]+\.wasm$/.test(name))).toBe(true);
  expect(expected.some((name) => name.endsWith('.onnx'))).toBe(true);
});

test('after one visit, the app opens, loads the model, predicts and downloads with the network off', async ({ page, context }) => {
  await openApp(page);
  const online = await sampleDownload(page);
  await waitForOfflineReady(page);

  await context.setOffline(true);
  // A URL the service worker does not hold goes to the network, and fails: the network is really off.
  expect(await page.evaluate(() => fetch('./index.html?not-cached').then(() => 'online', () => 'offline'))).toBe('offline');
  const servedBy = new Map<string, boolean>();
  context.on('response', (response) => servedBy.set(new URL(response.url()).pathname, response.fromServiceWorker()));
  await page.reload();
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  const offline = await sampleDownload(page);

  expect(offline).toBe(online);
  const probabilities = offline.trim().split(/\r?\n/).slice(1).map((line) => Number(line.split(',').at(-2)));
  expect(probabilities).toHaveLength(golden.sample.probabilities.length);
  // The files the engine worker fetched itself (the wasm, the model) came from the service worker.
  const fromWorkers = [...servedBy].filter(([path]) => /\.(wasm|onnx)$|model\.json$/.test(path));
  expect(fromWorkers.map(([path]) => path.split('/').pop()?.replace(/-[\w-]{8}\./, '.'))).toEqual(
    expect.arrayContaining(['ort-wasm-simd-threaded.wasm', 'model.json', 'secom-xgb.onnx']),
  );
  expect(fromWorkers.filter(([, fromSw]) => !fromSw)).toEqual([]);
});
