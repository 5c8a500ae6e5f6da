/**
 * The corpus of broken files (tests/fixtures/bad, written by generate.mjs): each gives a specific, plain message,
 * and the app stays usable afterwards — a good file loaded before is still shown, and the sample still loads.
 */
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { dropFiles, expect, golden, modelSensorCount, openApp, pickFile, records, root, sampleText, test } from './fixtures';

test.describe.configure({ mode: 'parallel' });

const SAMPLE_NAME = 'wafer_23012020_041211.csv';
const bad = (name: string): Buffer => readFileSync(`${root}tests/fixtures/bad/${name}`);

/** The text of a message item, without its marker. */
const text = (page: Page, testId: string) => page.getByTestId(testId).locator(':scope > div');

async function downloadText(page: Page, testId: string): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  return readFileSync(await download.path(), 'utf8');
}

async function loadSample(page: Page): Promise<void> {
  await page.getByTestId('sample-button').click();
  await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', '100');
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '100');
  await expect(page.getByTestId('error-message')).toHaveCount(0);
}

/** The fault_probability column of a downloaded CSV, found by its header. */
function probabilities(text: string, delimiter = ','): number[] {
  const lines = records(text);
  const header = lines[0].split(delimiter);
  const at = header.indexOf('fault_probability');
  expect(at).toBeGreaterThan(-1);
  return lines.slice(1).map((line) => Number(line.split(delimiter)[at]));
}

function expectSampleProbabilities(got: number[]): void {
  expect(got).toHaveLength(12);
  got.forEach((p, i) => expect(Math.abs(p - golden.sample.probabilities[i]), `wafer ${i + 1}`).toBeLessThanOrEqual(1e-5));
}

async function consentAndPredict(page: Page): Promise<void> {
  await expect(page.getByTestId('summary')).toHaveCount(0);
  await expect(page.getByTestId('consent-button')).toBeDisabled();
  await page.getByTestId('consent-checkbox').check();
  await page.getByTestId('consent-button').click();
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '12');
}

// Files that cannot be loaded: the exact message, first on an empty page, then over a loaded sample (kept on screen).
const failing: { file: string; message: string }[] = [
  { file: 'header-only.csv', message: 'The file has a header row (592 columns) but no data rows.' },
  { file: 'blank-lines.csv', message: 'The file is empty (it contains only blank lines).' },
  { file: 'empty.csv', message: 'The file is empty (0 bytes).' },
  {
    file: 'binary.csv',
    message: 'This file is not a text CSV file (it contains binary data). Please upload the CSV export of your sensor readings.',
  },
  {
    file: 'utf16.csv',
    message: 'This file is encoded as UTF-16 (Unicode text). Please save it as "CSV UTF-8 (comma delimited)" and upload it again.',
  },
  {
    file: 'labels-only.csv',
    message:
      'This file has only a label column (“Good/Bad”) and no sensor readings. Upload the file with the sensor columns (Sensor-1 … Sensor-590).',
  },
  {
    file: 'no-sensors.csv',
    message: "None of the 2 columns match the model's sensors (expected headers like Sensor-1, Sensor-2 …). Found: “Name”, “Age”.",
  },
  {
    file: 'no-header.csv',
    message:
      'The first row of this file looks like readings (“2968.33”, “2476.58”, “2216.7333” …), not column names: the header row seems to be missing. ' +
      'Add the header row (Sensor-1, Sensor-2 …, as in the sample file) and upload the file again.',
  },
  {
    file: 'unclosed-quote.csv',
    message: 'The file is not valid CSV near line 4: a quoted field is never closed. Check for a stray double quote (") on that line.',
  },
];

for (const { file, message } of failing) {
  test(`${file}: “${message.slice(0, 40)}…”, and the app stays usable`, async ({ page }) => {
    await openApp(page);
    await pickFile(page, file, bad(file));
    await expect(page.getByTestId('error-text')).toHaveText(`“${file}” could not be loaded. ${message}`);
    await expect(page.getByTestId('engine-status')).toHaveAttribute('data-state', 'ready');
    await expect(page.getByTestId('drop-zone')).toBeEnabled();

    // The sample still loads and predicts; the error goes away.
    await loadSample(page);

    // A failing load over a loaded file keeps that file on screen, and says so.
    await pickFile(page, file, bad(file));
    await expect(page.getByTestId('error-message')).toContainText(`“${file}” could not be loaded. ${message}`);
    await expect(page.getByTestId('error-message')).toContainText(`The previous data (${SAMPLE_NAME}) is still shown.`);
    await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', '100');
    await expect(page.getByTestId('columns-report')).toContainText(SAMPLE_NAME);
    await expect(page.locator('[data-testid="grid-cell"][data-row="0"]').first()).toBeVisible();
  });
}

test('0-byte file dropped on the page: “The file is empty (0 bytes).”', async ({ page }) => {
  await openApp(page);
  await loadSample(page);
  await dropFiles(page, [{ name: 'nothing.csv', content: '' }]);
  await expect(page.getByTestId('error-text')).toHaveText('“nothing.csv” could not be loaded. The file is empty (0 bytes).');
  await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', '100');
});

test('two files dropped at once: the first is loaded, and the app says only one is taken', async ({ page }) => {
  await openApp(page);
  const twelve = records(sampleText).slice(0, 13).join('\n') + '\n';
  await dropFiles(page, [
    { name: 'first.csv', content: twelve },
    { name: 'second.csv', content: sampleText },
  ]);
  await expect(
    page.getByText('2 files were given at once; the app reads one file at a time, so only the first, “first.csv”, is loaded.', { exact: true }),
  ).toBeVisible();
  await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', '12');
  await expect(page.getByTestId('columns-report')).toContainText('first.csv');
});

test('missing-few.csv: the 4 missing sensors are named, prediction waits for consent', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'missing-few.csv', bad('missing-few.csv'));
  await expect(page.getByTestId('missing-message')).toContainText(
    'Sensor columns missing: Sensor-100, Sensor-200 … Sensor-202 (4 columns). The model needs every sensor; missing ones are never filled in silently.',
  );
  await expect(page.getByTestId('consent-checkbox')).toHaveAccessibleName('Predict anyway, treating these 4 sensors as missing readings');
  await expect(page.getByTestId('columns-report')).toContainText('586 of 590');
  await consentAndPredict(page);
  await expect(page.getByTestId('missing-message')).toContainText('You chose to predict with these 4 sensors treated as missing readings.');
});

test('missing-most.csv: 540 missing sensors in one range; the sample still loads afterwards', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'missing-most.csv', bad('missing-most.csv'));
  await expect(page.getByTestId('missing-message')).toContainText('Sensor columns missing: Sensor-51 … Sensor-590 (540 columns).');
  await expect(page.getByTestId('columns-report')).toContainText('50 of 590');
  // With few of the model's sensors present, no wafer has enough coverage to be scored: none is a plain OK.
  await page.getByTestId('consent-checkbox').check();
  await page.getByTestId('consent-button').click();
  await expect(page.getByTestId('summary')).toHaveAttribute('data-low-coverage', '12');
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '0');
  await expect(page.getByTestId('summary')).toHaveAttribute('data-flagged', '0');
  await expect(page.getByTestId('low-coverage-message')).toContainText(
    `Low sensor coverage: 12 wafers have readings for fewer than half of the ${modelSensorCount} sensors`,
  );
  await loadSample(page);
  await expect(page.getByTestId('missing-message')).toHaveCount(0);
});

test('extra-duplicate.csv: the duplicate is named, the extra column kept, the first Sensor-5 used', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'extra-duplicate.csv', bad('extra-duplicate.csv'));
  await expect(text(page, 'duplicate-message')).toHaveText(
    'Duplicate column: Sensor-5 appears in columns 6 (“Sensor-5”) and 594 (“Sensor-5”). The first is used by the model; the other is kept in the download as data.',
  );
  await expect(page.getByTestId('columns-report')).toContainText('Operator');
  await consentAndPredict(page);
  const csv = await downloadText(page, 'download-button');
  expectSampleProbabilities(probabilities(csv));
  expect(records(csv)[1].split(',').slice(-4, -2)).toEqual(['op0', '0']);
});

test('renamed-reordered.csv: Kaggle names in reverse order give the sample’s probabilities', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'renamed-reordered.csv', bad('renamed-reordered.csv'));
  await expect(page.getByTestId('columns-report')).toContainText('590 of 590');
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '12');
  await expect(page.getByTestId('missing-message')).toHaveCount(0);
  await expect(page.getByTestId('duplicate-message')).toHaveCount(0);
  expectSampleProbabilities(probabilities(await downloadText(page, 'download-button')));
});

test('text-and-dates.csv: each text cell is named and treated as missing', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'text-and-dates.csv', bad('text-and-dates.csv'));
  const message = page.getByTestId('cell-issues-message');
  await expect(message).toContainText(
    '3 cells in sensor columns are not numbers; they are treated as missing readings (you can correct them in the table below).',
  );
  await expect(message.getByRole('button')).toHaveText(['row 2, Sensor-2: ‘n/a?’', 'row 4, Sensor-7: ‘2020-01-23’', 'row 6, Sensor-20: ‘high’']);
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '12');
});

test('inf-huge.csv: inf, -inf and out-of-range exponents are named as not finite', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'inf-huge.csv', bad('inf-huge.csv'));
  const message = page.getByTestId('cell-issues-message');
  await expect(message).toContainText(
    '4 cells in sensor columns are infinite or too large to be a reading; they are treated as missing readings (you can correct them in the table below).',
  );
  await expect(message.getByRole('button')).toHaveText([
    'row 1, Sensor-1: ‘inf’',
    'row 2, Sensor-2: ‘-inf’',
    'row 3, Sensor-3: ‘1e400’',
    'row 4, Sensor-4: ‘-3.5e39’',
  ]);
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '12');
});

test('decimal-comma.csv: ; and decimal commas give the sample’s probabilities, with a notice', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'decimal-comma.csv', bad('decimal-comma.csv'));
  await expect(text(page, 'notice')).toHaveText(
    'Numbers are read with a decimal comma (detected from the file): 3,14 is 3.14. 5,036 readings have a decimal comma. If that is wrong, change “Numbers” under Columns.',
  );
  await expect(page.getByTestId('columns-report')).toContainText('semicolon-separated');
  await expect(page.getByTestId('cell-issues-message')).toHaveCount(0);
  expectSampleProbabilities(probabilities(await downloadText(page, 'download-button'), ';'));
});

test('ragged.csv: the short and the long row are named with their consequences', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'ragged.csv', bad('ragged.csv'));
  await expect(text(page, 'row-shape-message')).toHaveText(
    '2 rows have the wrong number of fields: line 4 has 300 fields (the header has 592); line 8 has 594 fields (the header has 592). ' +
      'Absent fields are treated as missing readings. The model ignores the 2 non-empty extra fields. ' +
      "The download keeps every field: past the header's last column they sit under added columns “extra_1” and “extra_2”, " +
      'and every row is padded to the widest, so fault_probability and prediction each stay under their own header.',
  );
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '12');
  // Nothing is said twice: no notice repeats the row shapes.
  await expect(page.getByTestId('notice')).toHaveCount(0);
});
