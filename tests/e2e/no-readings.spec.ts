/**
 * Wafers without readings (tests/fixtures/bad, written by generate.mjs): lines of only delimiters are reported,
 * never scored as wafers, and kept as they are in the download.
 */
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { expect, openApp, pickFile, records, root, test } from './fixtures';

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
