/** Accessibility (axe-core) on the app's main states: no serious or critical violations. */
import AxeBuilder from '@axe-core/playwright';
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { expect, openApp, pickFile, records, root, sampleText, test } from './fixtures';

test.describe.configure({ mode: 'parallel' });

async function expectNoSeriousViolations(page: Page, state: string): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  const serious = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')}`);
  // Lesser findings are recorded on the test (visible in the HTML/JSON reports), not failed on.
  for (const v of results.violations.filter((x) => x.impact !== 'serious' && x.impact !== 'critical')) {
    test.info().annotations.push({ type: `axe ${v.impact ?? 'unknown'}`, description: `${state}: ${v.id} — ${v.help} (${v.nodes.length})` });
  }
  if (process.env.AXE_VERBOSE) console.log(state, results.violations.map((v) => `${v.id}:${v.impact}:${v.nodes.length}`));
  expect(serious, `axe: serious/critical violations in state “${state}”`).toEqual([]);
}

test('axe: the empty page', async ({ page }) => {
  await openApp(page);
  await expectNoSeriousViolations(page, 'empty page');
});

test('axe: sample loaded and predicted, model card open', async ({ page }) => {
  await openApp(page);
  await page.getByTestId('sample-button').click();
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '100');
  await page.getByTestId('model-card').locator('summary').click();
  await expect(page.getByTestId('model-card').locator('details')).toHaveAttribute('open', '');
  await expectNoSeriousViolations(page, 'sample predicted, model card open');
});

test('axe: a bad-file error', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'binary.csv', readFileSync(`${root}tests/fixtures/bad/binary.csv`));
  await expect(page.getByTestId('error-message')).toBeVisible();
  await expectNoSeriousViolations(page, 'bad-file error');
});

test('axe: missing columns, waiting for consent', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'missing-few.csv', readFileSync(`${root}tests/fixtures/bad/missing-few.csv`));
  await expect(page.getByTestId('consent-checkbox')).toBeVisible();
  await expectNoSeriousViolations(page, 'missing-columns consent');
});

test('axe: the cell editor open', async ({ page }) => {
  await openApp(page);
  await page.getByTestId('sample-button').click();
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '100');
  const col = records(sampleText)[0].split(',').indexOf('Sensor-2');
  await page.locator(`[data-testid="grid-cell"][data-row="0"][data-col="${col}"]`).dblclick();
  await expect(page.getByTestId('cell-editor')).toBeFocused();
  await expectNoSeriousViolations(page, 'editor open');
});

// Issue 10, points 7 and 8 (branch r-formats): the new notices, the refused threshold and the download confirmation.
test('axe: notices, a refused threshold, isolated ids and the download confirmation', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'smaller-rtl-ids.csv', readFileSync(`${root}tests/fixtures/bad/smaller-rtl-ids.csv`));
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '12');
  await Promise.all([page.waitForEvent('download'), page.getByTestId('download-button').click()]);
  await expect(page.getByTestId('export-done')).toBeVisible();
  await page.getByTestId('threshold-input').fill('2');
  await expect(page.getByTestId('threshold-refusal')).toBeVisible();
  await expectNoSeriousViolations(page, 'refused threshold, download confirmation');
  await pickFile(page, 'formats-sep.csv', readFileSync(`${root}tests/fixtures/bad/formats-sep.csv`));
  await expect(page.getByTestId('notice')).toHaveCount(1);
  await expectNoSeriousViolations(page, 'sep= notice');
});

test('axe: a folder loaded as a batch (files kept out, the source file column)', async ({ page }) => {
  await openApp(page);
  await page.getByTestId('folder-input').setInputFiles(`${root}tests/fixtures/batch`);
  await expect(page.getByTestId('batch-report')).toHaveAttribute('data-loaded', '3');
  await expect(page.locator('[data-testid="row-source"]').first()).toBeVisible();
  await expectNoSeriousViolations(page, 'batch loaded');
});
