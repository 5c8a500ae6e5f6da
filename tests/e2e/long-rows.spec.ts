/**
 * Rows longer than the header (tests/fixtures/bad, written by generate.mjs): the message says what the download
 * does, and in the download every original field is kept and each result sits under its own header.
 */
import { readFileSync } from 'node:fs';
import Papa from 'papaparse';
import type { Page } from '@playwright/test';
import { expect, golden, openApp, pickFile, root, test } from './fixtures';

test.describe.configure({ mode: 'parallel' });

const badPath = (name: string) => `${root}tests/fixtures/bad/${name}`;
const parse = (text: string) => Papa.parse<string[]>(text, { skipEmptyLines: true }).data;

async function downloadText(page: Page): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-button').click()]);
  return readFileSync(await download.path(), 'utf8');
}

/** Every input field is in the download at its place, padding after it, results at the end under their headers. */
function expectAligned(input: string[][], output: string[][], extra: string[]): void {
  const header = input[0]!;
  expect(output[0]).toEqual([...header, ...extra, 'fault_probability', 'prediction']);
  const width = header.length + extra.length;
  expect(output).toHaveLength(input.length);
  input.slice(1).forEach((row, i) => {
    const got = output[i + 1]!;
    expect(got, `line ${i + 2}`).toHaveLength(width + 2);
    expect(got.slice(0, row.length)).toEqual(row);
    expect(got.slice(row.length, width).every((f) => f === '')).toBe(true);
    expect(Math.abs(Number(got[width]) - golden.sample.probabilities[i]!), `wafer ${i + 1}`).toBeLessThanOrEqual(1e-5);
    expect(got[width + 1]).toBe(Number(got[width]) >= golden.threshold ? 'Fault' : 'OK');
  });
}

test('trailing-comma.csv: the empty extra field gets its own column, the results stay under their headers', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'trailing-comma.csv', readFileSync(badPath('trailing-comma.csv')));
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '12');
  await expect(page.getByTestId('extra-fields-message')).toHaveText(
    'The extra fields are all empty (a delimiter at the end of the line, as spreadsheets often write); the model ignores them. ' +
      "The download keeps every field: past the header's last column they sit under added column “extra_1”, and every row is padded to the widest, " +
      'so fault_probability and prediction each stay under their own header.',
  );
  await expect(page.getByTestId('extra-columns-notice')).toHaveText(
    'Some rows have more fields than the header: before the two result columns the download adds “extra_1” for those fields, ' +
      'and pads every row to the same width, so each value stays under its own header in a spreadsheet.',
  );
  const input = parse(readFileSync(badPath('trailing-comma.csv'), 'utf8'));
  expectAligned(input, parse(await downloadText(page)), ['extra_1']);
});

test('extra-fields.csv: extra text is kept under placeholder columns, never under fault_probability', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'extra-fields.csv', readFileSync(badPath('extra-fields.csv')));
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '12');
  await expect(page.getByTestId('row-shape-message')).toContainText('line 3 has 593 fields (the header has 592); line 6 has 594 fields (the header has 592).');
  await expect(page.getByTestId('extra-fields-message')).toHaveText(
    'The model ignores the 3 non-empty extra fields. ' +
      "The download keeps every field: past the header's last column they sit under added columns “extra_1” and “extra_2”, and every row is padded to the widest, " +
      'so fault_probability and prediction each stay under their own header.',
  );
  const input = parse(readFileSync(badPath('extra-fields.csv'), 'utf8'));
  const output = parse(await downloadText(page));
  expectAligned(input, output, ['extra_1', 'extra_2']);
  expect(output[2]!.slice(592, 594)).toEqual(['checked by JS', '']);
  expect(output[5]!.slice(592, 594)).toEqual(['rework', 'lot 7']);
});
