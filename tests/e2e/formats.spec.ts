/**
 * Issue 10, points 7 and 8: the formats people try (.csv.gz, workbooks and archives, Excel's sep= line, invisible
 * header characters, pasted text) and smaller things (the threshold box, the busy notice, the download's
 * threshold, counts, right-to-left ids). The files are written by tests/fixtures/bad/generate.mjs.
 */
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { expect, golden, modelJson, openApp, pickFile, records, root, test } from './fixtures';

test.describe.configure({ mode: 'parallel' });

const fixture = (name: string): Buffer => readFileSync(`${root}tests/fixtures/bad/${name}`);
const notices = (page: Page) => page.getByTestId('notice').locator(':scope > div');

async function download(page: Page, testId: string): Promise<{ name: string; text: string }> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  return { name: file.suggestedFilename(), text: readFileSync(await file.path(), 'utf8') };
}

/** The fault_probability column of a downloaded CSV: the 12 sample wafers' golden probabilities. */
function expectSampleProbabilities(text: string, delimiter: string, skipLines = 0): void {
  const lines = records(text).slice(skipLines);
  const at = (lines[0] ?? '').split(delimiter).indexOf('fault_probability');
  const got = lines.slice(1).map((line) => Number(line.split(delimiter)[at]));
  expect(got).toHaveLength(12);
  got.forEach((p, i) => expect(Math.abs(p - (golden.sample.probabilities[i] ?? NaN)), `wafer ${i + 1}`).toBeLessThanOrEqual(1e-5));
}

test.describe('formats people try', () => {
  test('.csv.gz is decompressed in the page, said, and downloads as plain CSV', async ({ page }) => {
    await openApp(page);
    const gz = fixture('formats-wafers.csv.gz');
    await pickFile(page, 'formats-wafers.csv.gz', gz);
    await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '12');
    await expect(notices(page)).toHaveText([
      `The file is gzip-compressed (${(gz.length / 1024).toFixed(1)} KB); it was decompressed in this page (${((await decompressedSize(gz)) / 1024).toFixed(1)} KB of CSV text). The download is plain CSV.`,
    ]);
    const { name, text } = await download(page, 'download-button');
    expect(name).toBe('formats-wafers_predictions.csv');
    expectSampleProbabilities(text, ',');
  });

  test('a damaged .csv.gz says it could not be decompressed', async ({ page }) => {
    await openApp(page);
    await pickFile(page, 'formats-cut.csv.gz', fixture('formats-cut.csv.gz'));
    await expect(page.getByTestId('error-text')).toHaveText(
      /^“formats-cut\.csv\.gz” could not be loaded\. This \.gz file could not be decompressed \(.+\): it is damaged or incomplete\. Download it again, or upload the CSV file itself\.$/,
    );
    await expect(page.getByTestId('drop-zone')).toBeEnabled();
  });

  for (const { file, message } of [
    {
      file: 'formats-workbook.xlsx',
      message: 'This is an Excel workbook (.xlsx), not a CSV file. In Excel choose File › Save As › “CSV UTF-8 (comma delimited)” and upload that file.',
    },
    { file: 'formats-archive.zip', message: 'This is a ZIP archive, not a CSV file. Extract the CSV file from it and upload that (a .csv.gz file can be uploaded as it is).' },
  ]) {
    test(`${file}: named by its first bytes instead of “binary data”`, async ({ page }) => {
      await openApp(page);
      await pickFile(page, file, fixture(file));
      await expect(page.getByTestId('error-text')).toHaveText(`“${file}” could not be loaded. ${message}`);
    });
  }

  test("Excel's sep=; line sets the delimiter, is said, and is kept in the download", async ({ page }) => {
    await openApp(page);
    await pickFile(page, 'formats-sep.csv', fixture('formats-sep.csv'));
    await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '12');
    await expect(page.getByTestId('columns-report')).toContainText('590 of 590');
    await expect(page.getByTestId('columns-report')).toContainText('semicolon-separated');
    await expect(notices(page).first()).toHaveText(
      'The first line “sep=;” (written for Excel) sets the delimiter to a semicolon; it is not a row, and the download keeps it as its first line.',
    );
    const { text } = await download(page, 'download-button');
    expect(text.startsWith('sep=;\r\n;Sensor-1;Sensor-2;')).toBe(true);
    expectSampleProbabilities(text, ';', 1);
  });

  test('a BOM and a zero-width space inside header names: matched to their sensors, and said', async ({ page }) => {
    await openApp(page);
    await pickFile(page, 'formats-invisible-header.csv', fixture('formats-invisible-header.csv'));
    await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '12');
    await expect(page.getByTestId('columns-report')).toContainText('590 of 590');
    await expect(page.getByTestId('missing-message')).toHaveCount(0);
    await expect(notices(page)).toHaveText([
      'Column 2 (“Sensor-1”) has an invisible byte order mark (U+FEFF) in its name: it was ignored, so the column feeds Sensor-1.',
      'Column 13 (“Sensor-12”) has an invisible zero-width space (U+200B) in its name: it was ignored, so the column feeds Sensor-12.',
    ]);
  });

  test('Ctrl+V on the page loads pasted spreadsheet cells; a paste into a text box stays there', async ({ page, context }) => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await openApp(page);
    const text = fixture('formats-paste.tsv').toString('utf8');
    await page.evaluate((t) => navigator.clipboard.writeText(t), text);
    await page.locator('h1').click();
    await page.keyboard.press('Control+V');
    await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '12');
    await expect(page.getByTestId('columns-report')).toContainText('pasted.csv');
    await expect(page.getByTestId('columns-report')).toContainText('tab-separated');
    await expect(page.getByText(`The pasted text (13 lines, ${(Buffer.byteLength(text) / 1024).toFixed(1)} KB) is read as a file named “pasted.csv”.`, { exact: true })).toBeVisible();

    // In the threshold box Ctrl+V pastes into the box: nothing is loaded.
    await page.evaluate(() => navigator.clipboard.writeText('0.25'));
    await page.getByTestId('threshold-input').fill('');
    await page.getByTestId('threshold-input').press('Control+V');
    await expect(page.getByTestId('threshold-input')).toHaveValue('0.25');
    await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', '12');
    expectSampleProbabilities((await download(page, 'download-button')).text, '\t');
  });
});

/** The size of the decompressed fixture, as the page reports it. */
async function decompressedSize(gz: Buffer): Promise<number> {
  const { gunzipSync } = await import('node:zlib');
  return gunzipSync(gz).length;
}

test.describe('smaller things', () => {
  test('the threshold box refuses 2 and -1 with a message and keeps the threshold in use', async ({ page }) => {
    await openApp(page);
    await pickFile(page, 'smaller-formula-header.csv', fixture('smaller-formula-header.csv'));
    const summary = page.getByTestId('summary');
    await expect(summary).toHaveAttribute('data-scored', '12');
    const flagged = await summary.getAttribute('data-flagged');
    const box = page.getByTestId('threshold-input');
    const slider = await page.getByTestId('threshold-range').inputValue();
    const applied = modelJson.threshold.value.toFixed(3);

    await box.fill('2');
    await expect(page.getByTestId('threshold-refusal')).toHaveText(`2 is not applied: a threshold is a probability, from 0 to 1. The threshold stays ${applied}.`);
    await expect(box).toHaveAttribute('aria-invalid', 'true');
    await expect(box).toHaveAccessibleDescription(`2 is not applied: a threshold is a probability, from 0 to 1. The threshold stays ${applied}.`);
    await expect(page.getByTestId('threshold-range')).toHaveValue(slider);
    await expect(summary).toHaveAttribute('data-flagged', flagged ?? '');
    // Leaving the box shows the threshold in use again; the message says what was refused.
    await box.press('Enter');
    await expect(box).toHaveValue(String(modelJson.threshold.value));
    await expect(page.getByTestId('threshold-refusal')).toBeVisible();

    await box.fill('-1');
    await expect(page.getByTestId('threshold-refusal')).toHaveText(`-1 is not applied: a threshold is a probability, from 0 to 1. The threshold stays ${applied}.`);
    await box.fill('0');
    await expect(page.getByTestId('threshold-refusal')).toHaveCount(0);
    await expect(summary).toHaveAttribute('data-flagged', '12');
  });

  test('the download says its threshold, and says when the threshold has moved since', async ({ page }) => {
    await openApp(page);
    await pickFile(page, 'smaller-formula-header.csv', fixture('smaller-formula-header.csv'));
    await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '12');
    await download(page, 'download-button');
    await expect(page.getByTestId('export-done')).toContainText(`12 wafers with predictions at threshold ${modelJson.threshold.value.toFixed(3)},`);
    await page.getByTestId('threshold-input').fill('0.9');
    await expect(page.getByTestId('export-threshold-changed')).toHaveText(
      'The threshold has changed since (now 0.900): download again for predictions at the new threshold.',
    );
  });

  test('a formula-like header cell is counted the same in the message, the note and the download', async ({ page }) => {
    await openApp(page);
    await pickFile(page, 'smaller-formula-header.csv', fixture('smaller-formula-header.csv'));
    await expect(page.getByTestId('formula-message')).toContainText('3 text cells start with =');
    await expect(page.getByTestId('formula-notice')).toContainText('3 text cells in this file');
    const { text } = await download(page, 'download-button');
    await expect(page.getByTestId('export-done')).toContainText("3 cells that looked like spreadsheet formulas prefixed with ' so they open as text.");
    expect(records(text)[0]?.split(',').at(-3)).toBe("'=Note");
  });

  test('large counts have thousands separators', async ({ page }) => {
    await openApp(page);
    await pickFile(page, 'smaller-wide-header-only.csv', fixture('smaller-wide-header-only.csv'));
    await expect(page.getByTestId('error-text')).toHaveText('“smaller-wide-header-only.csv” could not be loaded. The file has a header row (1,592 columns) but no data rows.');
  });

  test('a right-to-left override in a wafer id is shown, isolated, so the id cannot pass for another', async ({ page }) => {
    await openApp(page);
    await pickFile(page, 'smaller-rtl-ids.csv', fixture('smaller-rtl-ids.csv'));
    await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '12');
    const name = (row: number) => page.locator(`[data-testid="row-name"][data-row="${row}"] bdi`);
    await expect(name(0)).toHaveText('801');
    await expect(name(1)).toHaveText('[U+202E]108');
    await expect(name(1)).toHaveCSS('unicode-bidi', 'isolate');
    // The data keeps the character: the download has the id as uploaded.
    const { text } = await download(page, 'download-button');
    expect(records(text)[2]?.startsWith('\u202E108,')).toBe(true);
  });

  test('“Please wait” goes away with the load it was about', async ({ page }) => {
    await openApp(page);
    // A large file (the 12 wafers many times over) keeps the first load busy long enough to give a second file.
    const rows = records(fixture('smaller-formula-header.csv').toString('utf8'));
    await page.evaluate(
      ({ header, body, copies }) => {
        const big = new File([`${header}\n`, ...Array.from({ length: copies }, () => `${body}\n`)], 'big.csv');
        const input = document.querySelector<HTMLInputElement>('[data-testid="file-input"]');
        const transfer = new DataTransfer();
        transfer.items.add(big);
        if (input) {
          input.files = transfer.files;
          input.dispatchEvent(new Event('change', { bubbles: true }));
        }
      },
      { header: rows[0] ?? '', body: rows.slice(1).join('\n'), copies: 3000 },
    );
    await expect(page.getByTestId('progress')).toBeVisible();
    await page.evaluate(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(['x'], 'second.csv'));
      document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    });
    await expect(page.getByTestId('wait-notice')).toHaveText(
      '“second.csv” was not loaded, because another operation is running (Reading big.csv). Give it again when that has finished, or cancel it.',
    );
    await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', '36000', { timeout: 60_000 });
    await expect(page.getByTestId('wait-notice')).toHaveCount(0);
    await expect(page.getByTestId('error-message')).toHaveCount(0);
  });
});
