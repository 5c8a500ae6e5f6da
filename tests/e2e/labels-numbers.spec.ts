/**
 * Label codings and number formats (issue 10, points 5 and 6): a coding that could be read either way is asked,
 * never guessed, and no confusion matrix is shown before; the id and label roles and the number format are listed
 * and can be changed, which reads the same file again with the user's edits; numbers are never neutralized.
 */
import AxeBuilder from '@axe-core/playwright';
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { editCell, expect, golden, openApp, pickFile, records, root, sampleText, showCell, test } from './fixtures';

test.describe.configure({ mode: 'parallel' });

const bad = (name: string): Buffer => readFileSync(`${root}tests/fixtures/bad/${name}`);
const text = (page: Page, testId: string) => page.getByTestId(testId).locator(':scope > div');

/** The confusion counts of the first 12 sample wafers with their own -1/1 labels, at the model's threshold. */
function referenceCounts(): Record<'tp' | 'fp' | 'tn' | 'fn', string> {
  const lines = records(sampleText);
  const at = lines[0]!.split(',').indexOf('Good/Bad');
  const counts = { tp: 0, fp: 0, tn: 0, fn: 0 };
  lines.slice(1, 13).forEach((line, i) => {
    const fail = line.split(',')[at] === '1';
    const flagged = (golden.sample.probabilities[i] as number) >= golden.threshold;
    counts[fail ? (flagged ? 'tp' : 'fn') : flagged ? 'fp' : 'tn']++;
  });
  return { tp: String(counts.tp), fp: String(counts.fp), tn: String(counts.tn), fn: String(counts.fn) };
}

const rows = (n: number) => `${n} ${n === 1 ? 'row' : 'rows'}`;

async function expectReferenceMatrix(page: Page): Promise<void> {
  const evaluation = page.getByTestId('evaluation');
  for (const [key, value] of Object.entries(referenceCounts())) await expect(evaluation).toHaveAttribute(`data-${key}`, value);
}

async function downloadText(page: Page): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-button').click()]);
  return readFileSync(await download.path(), 'utf8');
}

function expectSampleProbabilities(csv: string, delimiter: string): void {
  const lines = records(csv);
  const at = lines[0]!.split(delimiter).indexOf('fault_probability');
  const got = lines.slice(1).map((line) => Number(line.split(delimiter)[at]));
  expect(got).toHaveLength(12);
  got.forEach((p, i) => expect(Math.abs(p - (golden.sample.probabilities[i] as number)), `wafer ${i + 1}`).toBeLessThanOrEqual(1e-5));
}

test('labels-1-pass-0-fail.csv: the 0/1 coding is asked, no matrix before; choosing “0” gives the sample’s comparison', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'labels-1-pass-0-fail.csv', bad('labels-1-pass-0-fail.csv'));
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '12');
  const fails = Number(referenceCounts().tp) + Number(referenceCounts().fn);
  await expect(page.getByTestId('label-coding-question')).toHaveText(
    `The values in “Good/Bad” (“1”: ${rows(12 - fails)}, “0”: ${rows(fails)}) could mean fail or pass either way, so the flags are not compared with them. Which value means fail?`,
  );
  const evaluation = page.getByTestId('evaluation');
  await expect(evaluation.getByRole('table')).toHaveCount(0);
  await expect(evaluation).not.toContainText('once the wafers have been scored');
  await expect(page.getByTestId('columns-report')).toContainText('Label column “Good/Bad” holds “1”, “0”: the app cannot tell which value means fail');

  await page.getByTestId('fail-value-select').selectOption('0');
  await page.getByTestId('fail-value-button').click();
  await expect(page.getByTestId('label-coding-chosen')).toHaveText('“0” means fail and every other value pass, as you chose.');
  await expect(evaluation.getByRole('table')).toBeVisible();
  await expectReferenceMatrix(page);
  await expect(page.getByTestId('columns-report')).toContainText(`“0” means fail, as you chose: ${fails} ${fails === 1 ? 'fail' : 'fails'}, ${12 - fails} passes`);
});

/** The edit made before a reload is still in the grid, marked as an edit. */
async function expectEditKept(page: Page): Promise<void> {
  const { cell } = await showCell(page, 1, 'Sensor-3');
  await expect(cell).toHaveText('2100');
  await expect(cell).toHaveAttribute('data-edited', 'true');
}

test('labels-class-ab.csv: the class column is listed as the label; a coding and role changes keep the edits', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'labels-class-ab.csv', bad('labels-class-ab.csv'));
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '12');
  await expect(page.getByTestId('label-column-select').locator('option:checked')).toHaveText('“class” (column 592)');
  await expect(page.getByTestId('id-column-select').locator('option:checked')).toHaveText('(unnamed column) (column 1)');
  await editCell(page, 1, 'Sensor-3', '2100');

  await page.getByTestId('fail-value-select').selectOption('B');
  await page.getByTestId('fail-value-button').click();
  await expectReferenceMatrix(page);
  await expectEditKept(page);

  await page.getByTestId('id-column-select').selectOption('');
  await expect(page.getByTestId('columns-report')).toContainText('No wafer id column: rows are named “Row 1”, “Row 2”, ….');
  await page.getByTestId('label-column-select').selectOption('');
  await expect(page.getByTestId('columns-report')).toContainText('No label column: predictions only');
  await expect(page.getByTestId('evaluation')).toHaveCount(0);
  await expect(page.getByTestId('error-message')).toHaveCount(0);
  await expectEditKept(page);

  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  expect(results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);
});

test('labels: the coding question is keyboard operable and axe clean', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'labels-class-ab.csv', bad('labels-class-ab.csv'));
  await expect(page.getByTestId('label-coding-question')).toBeVisible();
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  expect(results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);
  await page.getByTestId('fail-value-select').focus();
  await page.keyboard.press('ArrowDown');
  await expect(page.getByTestId('fail-value-select')).not.toHaveValue('');
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('fail-value-button')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('label-coding-chosen')).toBeVisible();
});

test('decimal-comma-tab.csv: decimal commas in a tab file are detected and read; -0,0279 is not neutralized', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'decimal-comma-tab.csv', bad('decimal-comma-tab.csv'));
  await expect(text(page, 'notice')).toHaveText(
    'Numbers are read with a decimal comma (detected from the file): 3,14 is 3.14. 5,036 readings have a decimal comma. If that is wrong, change “Numbers” under Columns.',
  );
  await expect(page.getByTestId('number-format-select')).toHaveValue('comma');
  await expect(page.getByTestId('cell-issues-message')).toHaveCount(0);
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '12');
  const csv = await downloadText(page);
  expect(csv).toContain('\t-0,0279\t');
  expect(csv).not.toContain("'");
  expectSampleProbabilities(csv, '\t');
});

test('thousands-point.csv: 2.968 read as 2968 and said so; switching to decimal points reports the cells it cannot read', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'thousands-point.csv', bad('thousands-point.csv'));
  await expect(text(page, 'notice')).toContainText('readings have a point between groups of three digits, read as a thousands separator: 2.968 is 2968.');
  await expect(page.getByTestId('number-format-line')).toContainText('Detected from the file: numbers are read with a decimal comma.');
  expectSampleProbabilities(await downloadText(page), ';');

  await page.getByTestId('number-format-select').selectOption('point');
  await expect(page.getByTestId('number-format-line')).toContainText('As you chose: numbers are read with a decimal point.');
  await expect(text(page, 'notice')).toContainText('cells are numbers only when read with a decimal comma, not with the decimal point this file is read with; they are treated as missing readings.');
  await expect(page.getByTestId('cell-issues-message')).toBeVisible();

  await page.getByTestId('number-format-select').selectOption('comma');
  await expect(page.getByTestId('cell-issues-message')).toHaveCount(0);
  expectSampleProbabilities(await downloadText(page), ';');
});
