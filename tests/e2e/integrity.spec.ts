/**
 * Integrity and recovery: a tampered model is refused with a clear error, a dead engine is detected and restarted
 * with the user's file and edits, a file too large for memory fails with a message, and formula-like text is
 * neutralized in the download (and the app says so).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page, Worker } from '@playwright/test';
import { editCell, expect, showCell, golden, openApp, pickFile, records, root, samplePath, sampleText, test } from './fixtures';

const probe = golden.edit_probe;

const header = records(sampleText)[0].split(',');

async function downloadText(page: Page, testId: string): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  return readFileSync(await download.path(), 'utf8');
}

test('a model file whose sha256 differs from model.json is refused with a clear error; the drop zone says it cannot work', async ({ page }) => {
  await page.route('**/*.onnx', async (route) => {
    const response = await route.fetch();
    const body = Buffer.from(await response.body());
    body[body.length >> 1] ^= 0xff; // one flipped byte, same origin, same size
    await route.fulfill({ response, body });
  });
  await page.goto('./');
  const status = page.getByTestId('engine-status');
  await expect(status).toHaveAttribute('data-state', 'error', { timeout: 30_000 });
  await expect(status).toHaveText('Engine error');
  const message = page.getByTestId('engine-message');
  await expect(message).toContainText('The model file secom-xgb.onnx does not match its description: sha256 is ');
  // The service worker still registers (a fixed deployment must be able to reach this page), but the page does
  // not say "works offline" with a model that does not work.
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 }).catch(() => undefined);
  await expect(status).toHaveText('Engine error');
  await expect(message).toContainText(', model.json expects ');
  await expect(page.getByRole('alert').first()).toContainText('The model could not be loaded.');

  // No pretending: the drop zone and the sample button are disabled and say why; a dropped file is refused plainly.
  await expect(page.getByTestId('drop-zone')).toBeDisabled();
  await expect(page.getByTestId('drop-zone')).toContainText('Files cannot be read right now');
  await expect(page.getByTestId('sample-button')).toBeDisabled();
  await page.getByTestId('file-input').setInputFiles(samplePath);
  await expect(page.getByTestId('error-text')).toContainText('The model could not be loaded, so the file cannot be read: The model file secom-xgb.onnx does not match');
  await expect(page.getByTestId('summary')).toHaveCount(0);
});

/** Load the sample, edit the golden probe cell, and return what the grid shows for that row afterwards. */
async function sampleWithEdit(page: Page): Promise<{ cell: ReturnType<Page['locator']>; probability: string }> {
  await page.getByTestId('sample-button').click();
  await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', '100');
  const { cell, probability } = await editCell(page, probe.row, probe.feature, probe.value);
  await expect(probability).toContainText(probe.probability.toFixed(3));
  return { cell, probability: (await probability.textContent()) ?? '' };
}

async function restartAndCheck(page: Page, edited: { cell: ReturnType<Page['locator']>; probability: string }): Promise<void> {
  // What the user loaded and edited is kept on screen meanwhile, and the banner says it will be reloaded.
  await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', '100');
  await expect(page.getByRole('alert').first()).toContainText(
    'Your file (wafer_23012020_041211.csv) and your edits are kept and will be reloaded.',
  );
  await expect(page.getByTestId('drop-zone')).toBeDisabled();
  await page.getByTestId('restart-button').click();
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-state', 'ready');
  await expect(page.getByText('Engine restarted: wafer_23012020_041211.csv reloaded and your edit re-applied.', { exact: true })).toBeVisible();
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '100');
  await showCell(page, probe.row, probe.feature); // the reloaded grid starts at the top
  await expect(edited.cell).toContainText(probe.value);
  await expect(edited.cell).toHaveAttribute('data-edited', 'true');
  await expect(page.locator(`[data-testid="row-probability"][data-row="${probe.row}"]`)).toHaveText(edited.probability);
  await expect(page.getByTestId('drop-zone')).toBeEnabled();
  // The edit is in the download, as before the crash.
  const line = records(await downloadText(page, 'download-button'))[probe.row + 1].split(',');
  expect(line[header.indexOf(probe.feature)]).toBe(probe.value);
}

test('an uncaught error in the engine is reported; restart reloads the file and re-applies the edit', async ({ page }) => {
  const workers: Worker[] = [];
  page.on('worker', (worker) => workers.push(worker));
  await openApp(page);
  const edited = await sampleWithEdit(page);
  await workers[0].evaluate(() => {
    setTimeout(() => {
      throw new Error('simulated crash');
    });
  });
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-state', 'error');
  await expect(page.getByTestId('engine-message')).toHaveText('The engine stopped unexpectedly (Uncaught Error: simulated crash).');
  await restartAndCheck(page, edited);
});

test('an engine that silently stops answering is caught by the heartbeat; restart brings the file back', async ({ page }) => {
  const workers: Worker[] = [];
  page.on('worker', (worker) => workers.push(worker));
  await openApp(page);
  const edited = await sampleWithEdit(page);
  // self.close() sends no event to the page: only the heartbeat notices.
  await workers[0].evaluate(() => setTimeout(() => self.close()));
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-state', 'error', { timeout: 20_000 });
  await expect(page.getByTestId('engine-message')).toHaveText(
    'The engine stopped unexpectedly (it has not answered for 10 seconds; it may have run out of memory).',
  );
  await restartAndCheck(page, edited);
});

test('a file too large for this browser’s memory fails with a message, and the tab stays usable', async ({ page }) => {
  // A real 64 GB file (sparse on disk): the sample's rows, then nothing. Even with rows twice as long as the
  // longest of the first records it would not fit, so the engine refuses before reading on or allocating.
  const dir = mkdtempSync(join(tmpdir(), 'sfd-huge-'));
  const file = join(dir, 'huge.csv');
  try {
    writeFileSync(file, sampleText);
    execFileSync('truncate', ['-s', '64G', file]);
    await openApp(page);
    await page.getByTestId('sample-button').click();
    await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', '100');
    await page.getByTestId('file-input').setInputFiles(file);
    await expect(page.getByTestId('error-text')).toHaveText(
      /^“huge\.csv” could not be loaded\. This file is too large for this browser's memory: 64\.00 GB, at least [\d,]+ rows, needs at least [\d.]+ GB for its readings, more than the 4\.00 GB this page allows\. For bigger files, use the command-line tool, which streams a file of any size \(`npx sensor-fault predict FILE\.csv -o OUT\.csv` in the project folder, see its README\), or split the file into smaller parts and upload them one at a time\.$/,
    );
    await expect(page.getByTestId('error-message')).toContainText('The previous data (wafer_23012020_041211.csv) is still shown.');
    await expect(page.getByTestId('engine-status')).toHaveAttribute('data-state', 'ready');
    await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', '100');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('formula-cells.csv: formula-like text is neutralized in the download, the app says so, everything else is as uploaded', async ({ page }) => {
  const uploaded = readFileSync(`${root}tests/fixtures/bad/formula-cells.csv`, 'utf8');
  await openApp(page);
  await pickFile(page, 'formula-cells.csv', uploaded);
  await expect(page.getByTestId('formula-message')).toContainText(
    "4 text cells start with =, +, -, @, a tab or a carriage return, so a spreadsheet could run them as formulas; in the download they are prefixed with ' so a spreadsheet shows them as text.",
  );
  // Said again where the download is, before downloading.
  await expect(page.getByTestId('formula-notice')).toHaveText(
    "Safe for spreadsheets: 4 text cells in this file start like a spreadsheet formula (=, +, -, @); the download prefixes each with ' so a spreadsheet shows it as text and never runs it. Numbers such as -1.5 are not changed.",
  );
  const text = await downloadText(page, 'download-button');
  await expect(page.getByTestId('export-done')).toContainText("4 cells that looked like spreadsheet formulas prefixed with ' so they open as text.");

  const input = records(uploaded);
  const output = records(text);
  expect(output).toHaveLength(input.length);
  // Exactly the formula-like cells gain a leading ', every other byte of every row is as uploaded.
  const expected = input.map((line) =>
    line
      .replace('"=HYPERLINK(""http://example.invalid"",""x"")"', `"'=HYPERLINK(""http://example.invalid"",""x"")"`)
      .replace(/,@SUM\(A1:A2\)$/, ",'@SUM(A1:A2)")
      .replace(/,\+cmd$/, ",'+cmd")
      .replace(',=1+1,', ",'=1+1,"),
  );
  expect(expected.filter((line, i) => line !== input[i])).toHaveLength(4);
  output.forEach((line, i) => {
    const at = line.lastIndexOf(',', line.lastIndexOf(',') - 1);
    expect(line.slice(0, at), `line ${i + 1}`).toBe(i === 0 ? expected[0] : expected[i]);
  });
  expect(output[5]).toContain(',-1.5,'); // a number: unchanged
  expect(output[0].endsWith(',fault_probability,prediction')).toBe(true);
});
