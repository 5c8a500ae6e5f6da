/**
 * The first visit: the page is usable before the 14 MB onnxruntime wasm has arrived, and a file given then is read
 * at once (the model.json and the ONNX file suffice to read and check it) and scored when onnxruntime is ready.
 */
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { expect, golden, test } from './fixtures';

async function downloadText(page: Page): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-button').click()]);
  return readFileSync(await download.path(), 'utf8');
}

test('a file given while the onnxruntime wasm still arrives is read at once and scored when the model is ready', async ({ page, context }) => {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  let wasmAsked = false;
  await context.route(/\.wasm$/, async (route) => {
    wasmAsked = true;
    await held;
    await route.continue();
  });
  await page.goto('./');
  await expect.poll(() => wasmAsked).toBe(true);
  await page.getByTestId('sample-button').click();
  await expect(page.getByTestId('waiting-for-model')).toBeVisible();
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-state', 'loading');

  release();
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '100');
  const text = await downloadText(page);
  const probabilities = text.trim().split(/\r?\n/).slice(1).map((line) => Number(line.split(',').at(-2)));
  probabilities.forEach((p, i) => expect(Math.abs(p - golden.sample.probabilities[i])).toBeLessThan(1e-5));
});
