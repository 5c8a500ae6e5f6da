/**
 * Wafers without readings (tests/fixtures/bad, written by generate.mjs): lines of only delimiters are reported,
 * never scored as wafers, and kept as they are in the download; wafers with readings for fewer than half of the
 * model's sensors are named, marked and left out of the counts unless the user chooses to score them.
 */
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { editCell, expect, fixtureReadings, golden, modelSensorCount, openApp, pickFile, records, root, test } from './fixtures';

const N = modelSensorCount;
const k806 = fixtureReadings(readFileSync(`${root}tests/fixtures/bad/low-coverage.csv`, 'utf8'), 5);

test.describe.configure({ mode: 'parallel' });

const bad = (name: string) => readFileSync(`${root}tests/fixtures/bad/${name}`);

async function downloadText(page: Page): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-button').click()]);
  return readFileSync(await download.path(), 'utf8');
}

test('delimiter-lines.csv: the trailing ,,,, lines are named, not wafers, and kept in the download', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'delimiter-lines.csv', bad('delimiter-lines.csv'));
  await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', '12');
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '12');
  await expect(page.getByTestId('delimiter-only-message').locator(':scope > div')).toHaveText(
    '3 lines contain only delimiters (lines 14, 15 and 16): no reading and no wafer name, as a spreadsheet writes below its data. ' +
      'They are not wafers, so they are not scored or counted; the download keeps them as they are.',
  );
  await expect(page.getByText('No problems found in the file.')).toHaveCount(0);
  const out = records(await downloadText(page));
  const input = records(bad('delimiter-lines.csv').toString('utf8'));
  expect(out).toHaveLength(16);
  expect(out.slice(13)).toEqual(input.slice(13));
  out.slice(1, 13).forEach((line) => expect(line).toMatch(/,0\.\d+,(Fault|OK)$/));
});

test('only-delimiters.csv: no wafers at all, and the message says why', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'only-delimiters.csv', bad('only-delimiters.csv'));
  await expect(page.getByTestId('error-text')).toHaveText(
    '“only-delimiters.csv” could not be loaded. The file has a header row (592 columns) but no data rows: ' +
      'its 20 lines after the header contain only delimiters (no readings, no wafer name).',
  );
  await expect(page.getByTestId('summary')).toHaveCount(0);
});

test('low-coverage.csv: wafers with (almost) no readings are named, not scored, not counted; the user may score them', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'low-coverage.csv', bad('low-coverage.csv'));
  const summary = page.getByTestId('summary');
  await expect(summary).toHaveAttribute('data-rows', '12');
  await expect(summary).toHaveAttribute('data-scored', '10');
  await expect(summary).toHaveAttribute('data-low-coverage', '2');
  await expect(page.getByTestId('withheld-count')).toHaveText(
    '2 wafers have low sensor coverage and are not scored, so they are not counted as flagged or OK (see Messages).',
  );
  const message = page.getByTestId('low-coverage-message').locator(':scope > div');
  await expect(message).toContainText(
    `Low sensor coverage: 2 wafers have readings for fewer than half of the ${N} sensors the model uses: Wafer-803 (0 of ${N}) and Wafer-806 (${k806} of ${N}). ` +
      'They are not scored and not counted as flagged or OK; the table and the download mark them “Not scored”.',
  );
  await expect(page.getByText('No problems found in the file.')).toHaveCount(0);
  await expect(page.locator('[data-testid="row-coverage"][data-row="2"]')).toHaveText(`0 / ${N} low`);
  await expect(page.locator('[data-testid="row-coverage"][data-row="0"]')).toHaveText(new RegExp(`^\\d+ / ${N}$`));
  await expect(page.locator('[data-testid="row-probability"][data-row="2"]')).toHaveText('—');
  await expect(page.getByText('Not scored', { exact: true })).toHaveCount(2);
  await expect(page.getByTestId('model-card').getByTestId('coverage-rule')).toContainText(
    `Coverage is the number of the ${N} sensors the model uses that have a reading. A wafer with fewer than 50 % of them (under ${Math.ceil(N / 2)}) has low coverage`,
  );

  let out = records(await downloadText(page));
  expect(out[3]).toMatch(new RegExp(`,,Not scored: low coverage \\(0 of ${N} model sensors read\\)$`));
  expect(out[6]).toMatch(new RegExp(`,,Not scored: low coverage \\(${k806} of ${N} model sensors read\\)$`));

  // The user's choice: score and count them, still marked in the download.
  await page.getByTestId('low-coverage-checkbox').check();
  await expect(summary).toHaveAttribute('data-scored', '12');
  await expect(message).toContainText('You chose to score them: they are counted, and the table and the download mark them “low coverage”');
  await expect(page.locator('[data-testid="row-probability"][data-row="2"]')).toHaveText(/^0\.\d{3}$/);
  out = records(await downloadText(page));
  expect(out[3]).toMatch(new RegExp(`,0\\.\\d+,(Fault|OK) \\(low coverage: 0 of ${N} model sensors read\\)$`));
  await page.getByTestId('low-coverage-checkbox').uncheck();
  await expect(summary).toHaveAttribute('data-scored', '10');
});

test('low-coverage.csv: an edit that adds a model sensor reading updates the wafer’s coverage', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'low-coverage.csv', bad('low-coverage.csv'));
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '10');
  const sensor = golden.model_sensors[0] as string;
  await editCell(page, 2, sensor, '3000');
  await expect(page.locator('[data-testid="row-coverage"][data-row="2"]')).toHaveText(`1 / ${N} low`);
  await expect(page.getByTestId('low-coverage-message')).toContainText(`Wafer-803 (1 of ${N})`);
});
