/**
 * Files that used to take the tab down (issue 10, point 1): a sample extended to gigabytes with zeros, whose NUL
 * region stops the load at once; and a file whose first records are shorter than later ones, which the old row
 * estimate refused although it fits. The previous file and its edit stay loaded after a failed load.
 *
 * The big files are generated at test time into a temporary directory (sparse on disk where they are zeros).
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { editCell, expect, golden, openApp, showCell, sampleText, test } from './fixtures';

const probe = golden.edit_probe;

for (const size of ['2G', '4G']) {
  test(`the sample extended to ${size} with truncate (NUL bytes) stops at the NUL region; the sample and its edit stay`, async ({ page }) => {
    const dir = mkdtempSync(join(tmpdir(), 'sfd-nul-'));
    const file = join(dir, `padded-${size}.csv`);
    try {
      writeFileSync(file, sampleText);
      execFileSync('truncate', ['-s', size, file]);
      await openApp(page);
      await page.getByTestId('sample-button').click();
      await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', '100');
      const { cell } = await editCell(page, probe.row, probe.feature, probe.value);
      await page.getByTestId('file-input').setInputFiles(file);
      // Opening another file would discard the edit, so the app asks; even "discard" loses nothing when the load fails.
      await page.getByTestId('discard-edits').click();
      await expect(page.getByTestId('error-text')).toHaveText(
        `“padded-${size}.csv” could not be loaded. This file is not a text CSV file: line 102 (byte 343,974) holds binary data (a NUL byte), ` +
          'as in a file padded with zeros by a failed copy. Reading stopped there. Please upload the CSV export of your sensor readings.',
      );
      await expect(page.getByTestId('error-message')).toContainText('The previous data (wafer_23012020_041211.csv) is still shown.');
      await expect(page.getByTestId('engine-status')).toHaveAttribute('data-state', 'ready');
      await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', '100');
      await showCell(page, probe.row, probe.feature);
      await expect(cell).toContainText(probe.value);
      await expect(cell).toHaveAttribute('data-edited', 'true');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** Rows named wafer-1 … wafer-1500000 with one reading: the names, so the records, grow longer down the file. */
async function writeGrowingNames(file: string, rows: number): Promise<void> {
  const out = createWriteStream(file);
  out.write(',Sensor-1\n');
  for (let i = 1; i <= rows; i += 10_000) {
    let chunk = '';
    for (let j = i; j < Math.min(i + 10_000, rows + 1); j++) chunk += `wafer-${j},1\n`;
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve) => out.end(() => resolve()));
}

test('names wafer-1 … wafer-1500000: the file the old estimate refused (about 1.9 M rows, over 4 GB) loads all its rows', async ({ page }) => {
  test.setTimeout(300_000);
  const dir = mkdtempSync(join(tmpdir(), 'sfd-growing-'));
  const file = join(dir, 'growing-names.csv');
  try {
    await writeGrowingNames(file, 1_500_000);
    await openApp(page);
    await page.getByTestId('file-input').setInputFiles(file);
    // One sensor of 590: the file loads and shows; prediction waits for consent (not needed here).
    await expect(page.getByTestId('columns-report')).toContainText('growing-names.csv — 1,500,000 wafers', { timeout: 240_000 });
    await page.getByTestId('grid').focus();
    await page.keyboard.press('Control+End');
    await expect(page.locator('[role="row"]:has([data-testid="row-probability"][data-row="1499999"])').getByRole('rowheader')).toHaveText('wafer-1500000');
    await expect(page.getByTestId('error-text')).toHaveCount(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
