/**
 * Issue 12: the drift report (banner, sortable table, a sensor's distribution, per-wafer out-of-range count) and
 * evaluation mode's curves and cost helper, in the real page with the real model and worker.
 */
import AxeBuilder from '@axe-core/playwright';
import { readFileSync } from 'node:fs';
import { trainingPeriodCsv } from '../fixtures/drift/training-period.mjs';
import { expect, openApp, pickFile, root, test } from './fixtures';

const shiftedText = readFileSync(`${root}tests/fixtures/drift/shifted-sensors.csv`, 'utf8');
const shifted = JSON.parse(readFileSync(`${root}tests/fixtures/drift/shifted-sensors.json`, 'utf8')) as { shifted: string[] };

test('no drift banner on the sample, wafers from the training period; the report and the out-of-range column show', async ({ page }) => {
  await openApp(page);
  await page.getByTestId('sample-button').click();
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '100');
  const report = page.getByTestId('drift-report');
  await expect(report).toBeVisible();
  await expect(report).not.toHaveAttribute('data-verdict', 'unlike');
  await expect(page.getByTestId('drift-banner')).toHaveCount(0);
  // every wafer shows its count of model sensors outside the training range
  const counts = page.getByTestId('row-out-of-range');
  await expect(counts.first()).toHaveText(/^\s*\d+\s*$/);
});

test('no drift banner on wafers drawn from the whole training period; the drifted filter lists exactly the drifted sensors', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'training-period.csv', trainingPeriodCsv());
  await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', '98');
  const report = page.getByTestId('drift-report');
  await expect(report).toHaveAttribute('data-rows', '98');
  await expect(report).not.toHaveAttribute('data-verdict', 'unlike');
  await expect(page.getByTestId('drift-banner')).toHaveCount(0);
  await page.getByTestId('drift-show').selectOption('drifted');
  const drifted = Number(await report.getAttribute('data-drifted'));
  if (drifted > 25) await page.getByTestId('drift-all-rows').click();
  await expect(page.locator('[data-testid="drift-row"]')).toHaveCount(drifted);
});

test('a file with shifted model sensors gets the banner, naming them first; the table sorts and the plot follows the chosen sensor', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'shifted-sensors.csv', shiftedText);
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', /\d+/);
  const banner = page.getByTestId('drift-banner');
  await expect(banner).toBeVisible();
  // the banner names the six the model relies on most, the most relied-on first
  await expect(page.getByTestId('drift-banner-sensors')).toHaveText(shifted.shifted.slice(0, 6).join(', '));
  await expect(page.getByTestId('drift-report')).toHaveAttribute('data-verdict', 'unlike');

  // sorted by distance, largest first: the shifted sensors lead the model's sensors
  await page.getByTestId('drift-sort-distance').click();
  await expect(page.locator('th:has([data-testid="drift-sort-distance"])')).toHaveAttribute('aria-sort', 'descending');
  const firstRows = await page.getByTestId('drift-row').evaluateAll((rows, n) => rows.slice(0, n).map((r) => r.getAttribute('data-sensor')), shifted.shifted.length);
  expect(new Set(firstRows)).toEqual(new Set(shifted.shifted));
  await page.getByTestId('drift-sort-distance').click();
  await expect(page.locator('th:has([data-testid="drift-sort-distance"])')).toHaveAttribute('aria-sort', 'ascending');

  // the plot shows the most relied-on drifted sensor, then the one chosen
  await expect(page.getByTestId('drift-plot')).toHaveAttribute('data-sensor', shifted.shifted[0] as string);
  await page.getByTestId('drift-sensor-select').selectOption(shifted.shifted[2] as string);
  await expect(page.getByTestId('drift-plot')).toHaveAttribute('data-sensor', shifted.shifted[2] as string);
  await expect(page.getByTestId('drift-plot').locator('svg g.file-cdf path')).toBeVisible();

  // shifted readings are outside the training range: the grid counts them per wafer
  const first = Number((await page.getByTestId('row-out-of-range').first().innerText()).trim());
  expect(first).toBeGreaterThanOrEqual(4);

  const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  expect(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`)).toEqual([]);
});

test('evaluation mode: ROC, PR and reliability curves with the operating point, and the cost helper sets the threshold', async ({ page }) => {
  await openApp(page);
  await page.getByTestId('sample-button').click();
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '100');
  const curves = page.getByTestId('evaluation-curves');
  await expect(curves).toBeVisible();
  for (const id of ['roc-curve', 'pr-curve', 'reliability-curve', 'cost-curve']) await expect(page.getByTestId(id).locator('svg').first()).toBeVisible();
  // the operating point is the confusion matrix's at the current threshold
  const evaluation = page.getByTestId('evaluation');
  const fp = Number(await evaluation.getAttribute('data-fp'));
  const tn = Number(await evaluation.getAttribute('data-tn'));
  await expect(page.getByTestId('roc-curve')).toHaveAttribute('data-operating-x', (fp / (fp + tn)).toFixed(4));
  const bins = Number(await page.getByTestId('reliability-curve').getAttribute('data-bins'));
  expect(bins).toBeGreaterThan(1);

  // a missed fault 50 × a false alarm: the cheapest threshold is low; applying it moves the threshold control
  await page.getByTestId('miss-cost').fill('50');
  await page.getByTestId('false-alarm-cost').fill('1');
  const best = (await page.getByTestId('training-best-threshold').innerText()).trim();
  await expect(page.getByTestId('file-best-threshold')).toHaveText(/^0\.\d{3}$/);
  await page.getByTestId('apply-training-threshold').click();
  await expect(page.getByTestId('threshold-input')).toHaveValue(new RegExp(`^${best.replace('.', '\\.')}`));
  await expect(page.getByTestId('roc-curve')).toHaveAttribute('data-operating-x', /\d/);
  // false alarms costing more than misses pushes the cheapest training threshold up
  await page.getByTestId('miss-cost').fill('1');
  await page.getByTestId('false-alarm-cost').fill('5');
  const higher = Number((await page.getByTestId('training-best-threshold').innerText()).trim());
  expect(higher).toBeGreaterThan(Number(best));

  const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  expect(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`)).toEqual([]);
});

test('a reference.json that differs from its sha256 in model.json refuses the bundle, naming the file', async ({ page }) => {
  await page.route('**/reference.json', async (route) => {
    const response = await route.fetch();
    const body = Buffer.from(await response.body());
    body[body.length - 2] = 0x20;
    await route.fulfill({ response, body });
  });
  await page.goto('./');
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-state', 'error', { timeout: 30_000 });
  await expect(page.getByTestId('engine-message')).toContainText('The model file reference.json does not match its description: sha256 is ');
});
