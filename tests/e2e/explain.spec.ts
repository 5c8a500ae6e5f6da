/**
 * Why is this wafer flagged (issue 12, points 2 and 3): the wafer panel opens from a click on a wafer's name or
 * Enter on it in the grid, shows P(fail) against the threshold, the sensors toward fault and toward pass with
 * their readings placed in the training data, follows an edit, closes with Escape (the focus back in the grid),
 * is axe clean with its chart under the page's CSP; the download gets top_sensors only when asked.
 */
import AxeBuilder from '@axe-core/playwright';
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { editCell, expect, golden, openApp, records, test } from './fixtures';

const probe = golden.edit_probe;

async function openSample(page: Page): Promise<string[]> {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  await openApp(page);
  await page.getByTestId('sample-button').click();
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '100');
  return problems;
}

const rowName = (page: Page, row: number) => page.locator(`[data-testid="row-name"][data-row="${row}"]`);
const panel = (page: Page) => page.getByTestId('wafer-panel');

test('a click on a wafer’s name explains it: probability vs threshold, both directions, readings placed; axe clean', async ({ page }) => {
  const problems = await openSample(page);
  const probability = (await page.locator('[data-testid="row-probability"][data-row="2"]').innerText()).trim();
  await rowName(page, 2).click();
  await expect(panel(page)).toBeVisible();
  await expect(page.locator('#wafer-panel-heading')).toBeFocused();
  await expect(page.getByTestId('wafer-panel-probability')).toContainText(`P(fail) ${probability}`);
  await expect(page.getByTestId('wafer-panel-probability')).toContainText(`threshold ${golden.threshold.toFixed(3)}`);
  const fault = page.getByTestId('wafer-panel-fault').getByTestId('wafer-panel-row');
  const pass = page.getByTestId('wafer-panel-pass').getByTestId('wafer-panel-row');
  expect((await fault.count()) + (await pass.count())).toBeGreaterThan(3);
  await expect(fault.first().locator('td').last()).toHaveText(/^\+\d\.\d\d$/);
  await expect(pass.first().locator('td').last()).toHaveText(/^−\d\.\d\d$/);
  // every shown reading is placed against the training range (model.json p01–p99)
  for (const place of await page.getByTestId('wafer-panel-place').allInnerTexts()) expect(place).toMatch(/p01|p99|missing/);
  // the chart is drawn (Observable Plot), one bar per shown sensor, within the page's CSP
  const bars = (await fault.count()) + (await pass.count());
  await expect(page.getByTestId('wafer-panel-chart').locator('svg rect')).toHaveCount(bars);
  const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  expect(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
  await page.getByTestId('wafer-panel-close').click();
  await expect(panel(page)).toHaveCount(0);
  expect(problems.filter((p) => /Content.Security.Policy|Refused/i.test(p))).toEqual([]);
});

test('keyboard: Enter on a wafer’s name in the grid opens the panel, Escape closes it and the focus is back in the grid', async ({ page }) => {
  await openSample(page);
  const grid = page.getByTestId('grid');
  await grid.focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowLeft'); // from the first data column to the wafer's name
  await expect(grid).toHaveAttribute('aria-activedescendant', 'cell-1-name');
  await page.keyboard.press('Enter');
  await expect(panel(page)).toBeVisible();
  await expect(page.locator('#wafer-panel-heading')).toBeFocused();
  await expect(page.locator('#wafer-panel-heading')).toContainText((await rowName(page, 1).innerText()).trim());
  await expect(page.getByTestId('cell-editor')).toHaveCount(0);
  await page.keyboard.press('Escape');
  await expect(panel(page)).toHaveCount(0);
  await expect(grid).toBeFocused();
  // Enter on a data cell still edits it
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('cell-editor')).toBeFocused();
});

test('the panel follows an edit of its wafer, and a missing reading that mattered is named', async ({ page }) => {
  await openSample(page);
  await editCell(page, probe.row, probe.feature, probe.value);
  await rowName(page, probe.row).click();
  await expect(page.getByTestId('wafer-panel-probability')).toContainText(`P(fail) ${probe.probability.toFixed(3)}`);
  const sensor = panel(page).locator(`[data-testid="wafer-panel-row"][data-sensor="${probe.feature}"]`);
  await expect(sensor.locator('td').first()).toHaveText(String(Number(Number(probe.value).toPrecision(6))));
  // emptying the cell makes it a missing reading: the panel updates and lists it when it moved the log-odds
  await editCell(page, probe.row, probe.feature, '');
  await expect(panel(page).getByTestId('wafer-panel-probability')).not.toContainText(`P(fail) ${probe.probability.toFixed(3)}`);
  await expect(sensor.locator('td').first()).toHaveText('missing');
  await expect(page.getByTestId('wafer-panel-missing')).toContainText(probe.feature);
});

test('download: no top_sensors by default; with the option, one more column of the three largest contributions', async ({ page }) => {
  await openSample(page);
  const [plain] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-button').click()]);
  const plainText = readFileSync(await plain.path(), 'utf8');
  expect(records(plainText)[0]).not.toContain('top_sensors');
  await page.getByTestId('top-sensors-checkbox').check();
  const [withTop] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-button').click()]);
  const lines = records(readFileSync(await withTop.path(), 'utf8'));
  const plainLines = records(plainText);
  expect(lines[0]).toBe(`${plainLines[0]},top_sensors`);
  expect(lines).toHaveLength(plainLines.length);
  for (let r = 1; r < lines.length; r++) {
    expect(lines[r]?.startsWith(`${plainLines[r]},`)).toBe(true);
    expect(lines[r]?.slice((plainLines[r] as string).length + 1)).toMatch(/^Sensor-\d+ \([+−]\d\.\d\d\)(; Sensor-\d+ \([+−]\d\.\d\d\)){2}$/);
  }
});
