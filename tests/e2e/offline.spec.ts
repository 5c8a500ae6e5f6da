/**
 * Offline use (service worker, vite-plugin-pwa): after one visit the app opens, loads the model, predicts and
 * downloads with the network off. The engine worker and its parse workers are blob: workers; the onnxruntime wasm
 * and the model files are fetched from inside them, so this also checks that the service worker serves them.
 */
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { expect, golden, openApp, test } from './fixtures';

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
