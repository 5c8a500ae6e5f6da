/**
 * Edits are never dropped silently (issue 10, point 4): another file or the sample asks first (keep / download /
 * discard), a reload asks the browser's own question, edits can be undone and redone by keys and buttons, the
 * Messages panel follows them, and the file and its edits are kept in this browser for a reload or a crashed tab.
 */
import AxeBuilder from '@axe-core/playwright';
import { readFileSync } from 'node:fs';
import { editCell, expect, golden, openApp, pickFile, records, root, showCell, test } from './fixtures';

const probe = golden.edit_probe;
const missingFew = `${root}tests/fixtures/bad/missing-few.csv`;

async function sampleWithProbeEdit(page: import('@playwright/test').Page) {
  await openApp(page);
  await page.getByTestId('sample-button').click();
  await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', '100');
  return editCell(page, probe.row, probe.feature, probe.value);
}

test('another file with edits asks first; Keep my edits opens nothing; the question is keyboard reachable and axe clean', async ({ page }) => {
  const { cell } = await sampleWithProbeEdit(page);
  await page.getByTestId('file-input').setInputFiles(missingFew);
  const prompt = page.getByRole('alertdialog', { name: 'Open missing-few.csv and discard your edits?' });
  await expect(prompt).toContainText('You changed 1 cell in wafer_23012020_041211.csv. Opening missing-few.csv replaces it, and your edits would be lost.');
  await expect(page.getByTestId('keep-edits')).toBeFocused();
  const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  expect(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);
  await page.keyboard.press('Enter');
  await expect(prompt).toHaveCount(0);
  await expect(page.getByText('missing-few.csv was not opened; your edit to wafer_23012020_041211.csv is kept.')).toBeVisible();
  await expect(page.getByTestId('columns-report')).toContainText('wafer_23012020_041211.csv');
  await showCell(page, probe.row, probe.feature);
  await expect(cell).toHaveAttribute('data-edited', 'true');
});

test('Try a sample with edits: download the edited file, then open', async ({ page }) => {
  await sampleWithProbeEdit(page);
  await page.getByTestId('sample-button').click();
  await expect(page.getByRole('alertdialog', { name: 'Open the sample and discard your edits?' })).toBeVisible();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-then-open').click()]);
  const text = readFileSync(await download.path(), 'utf8');
  const header = records(text)[0].split(',');
  expect(records(text)[probe.row + 1].split(',')[header.indexOf(probe.feature)]).toBe(probe.value);
  // The sample opened afresh (wait for it: the grid is drawn again from the top), the edit gone from the grid,
  // not from the download.
  await expect(page.getByTestId('undo-button')).toBeDisabled();
  await expect(page.getByRole('alertdialog')).toHaveCount(0);
  const { cell } = await showCell(page, probe.row, probe.feature);
  await expect(cell).not.toHaveAttribute('data-edited', 'true');
});

test('Discard edits and open loads the other file', async ({ page }) => {
  await sampleWithProbeEdit(page);
  await page.getByTestId('file-input').setInputFiles(missingFew);
  await page.getByTestId('discard-edits').click();
  await expect(page.getByTestId('columns-report')).toContainText('missing-few.csv');
  await expect(page.getByTestId('discard-prompt')).toHaveCount(0);
});

test('leaving the page with edits (reload, close) asks the browser’s question; staying keeps the edit', async ({ page }) => {
  const { cell } = await sampleWithProbeEdit(page);
  const asked = page.waitForEvent('dialog');
  await page.close({ runBeforeUnload: true });
  const dialog = await asked;
  expect(dialog.type()).toBe('beforeunload');
  await dialog.dismiss();
  expect(page.isClosed()).toBe(false);
  await expect(cell).toHaveAttribute('data-edited', 'true');
});

test('undo and redo by Ctrl+Z / Ctrl+Shift+Z and by the buttons: the cell and its probability follow', async ({ page }) => {
  const before = await (async () => {
    await openApp(page);
    await page.getByTestId('sample-button').click();
    await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', '100');
    const shown = await showCell(page, probe.row, probe.feature);
    return { text: (await shown.cell.textContent()) ?? '', probability: (await shown.probability.textContent()) ?? '' };
  })();
  const { cell, probability } = await editCell(page, probe.row, probe.feature, probe.value);
  await expect(probability).toContainText(probe.probability.toFixed(3));
  await expect(page.getByTestId('redo-button')).toBeDisabled();

  await page.getByTestId('grid').focus();
  await page.keyboard.press('Control+z');
  await expect(cell).not.toHaveAttribute('data-edited', 'true');
  await expect(cell).toHaveText(before.text);
  await expect(probability).toHaveText(before.probability);
  await expect(page.getByText(`Undone: row ${probe.row + 1}, ${probe.feature} is ‘${before.text.trim()}’ again.`)).toBeVisible();
  await expect(page.getByTestId('undo-button')).toBeDisabled();

  await page.getByTestId('grid').focus();
  await page.keyboard.press('Control+Shift+Z');
  await expect(cell).toContainText(probe.value);
  await expect(cell).toHaveAttribute('data-edited', 'true');
  await expect(probability).toContainText(probe.probability.toFixed(3));

  await page.getByTestId('undo-button').click();
  await expect(cell).toHaveText(before.text);
  await page.getByTestId('redo-button').click();
  await expect(cell).toContainText(probe.value);
  await expect(page.getByTestId('redo-button')).toBeDisabled();
});

test('the Messages panel follows edits: an edit that makes a cell text shows up there, with a jump to it; correcting it removes it', async ({ page }) => {
  await openApp(page);
  await page.getByTestId('sample-button').click();
  await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', '100');
  await expect(page.getByTestId('edit-issues-message')).toHaveCount(0);
  const { cell } = await editCell(page, 3, 'Sensor-60', 'broken');
  const message = page.getByTestId('edit-issues-message');
  await expect(message).toContainText('1 edited cell is not a valid reading and is treated as missing:');
  await expect(message.getByRole('button')).toContainText('row 4, Sensor-60: ‘broken’');
  await page.getByTestId('grid').evaluate((el) => (el.scrollTop = el.scrollHeight));
  await message.getByRole('button').click();
  await expect(cell).toBeVisible();
  await editCell(page, 3, 'Sensor-60', '1.5');
  await expect(message).toHaveCount(0);
});

test('the file and its edits are kept in this browser: a reload offers them back, a crashed tab too; Forget this file removes them', async ({ page, context }) => {
  await sampleWithProbeEdit(page);
  await expect(page.getByTestId('kept-note')).toContainText('wafer_23012020_041211.csv and your edits are kept in this browser only, so a reload or a crashed tab can restore them.');
  // The browser asks before the reload (edits are on screen); the user goes ahead.
  page.on('dialog', (dialog) => void dialog.accept());
  await page.reload();
  const offer = page.getByTestId('restore-offer');
  await expect(offer).toContainText('wafer_23012020_041211.csv and your 1 edit are kept in this browser from your last visit (never sent anywhere).');
  await expect(page.getByTestId('restore-button')).toBeEnabled();
  const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  expect(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);
  await page.getByTestId('restore-button').click();
  await expect(page.getByText('Restored wafer_23012020_041211.csv with your edit from this browser.')).toBeVisible();
  const { cell, probability } = await showCell(page, probe.row, probe.feature);
  await expect(cell).toContainText(probe.value);
  await expect(cell).toHaveAttribute('data-edited', 'true');
  await expect(probability).toContainText(probe.probability.toFixed(3));

  // A tab that dies runs no unload handler: a new tab still finds the file and the edit.
  await page.close({ runBeforeUnload: false });
  const next = await context.newPage();
  await openApp(next);
  await expect(next.getByTestId('restore-offer')).toContainText('wafer_23012020_041211.csv and your 1 edit');
  await next.getByTestId('forget-button').click();
  await expect(next.getByText("wafer_23012020_041211.csv and its edits were removed from this browser's storage.")).toBeVisible();
  await expect(next.getByTestId('restore-offer')).toHaveCount(0);
  await next.reload();
  await expect(next.getByTestId('engine-status')).toHaveAttribute('data-state', 'ready');
  await expect(next.getByTestId('sample-button')).toBeEnabled();
  await expect(next.getByTestId('restore-offer')).toHaveCount(0);
});

test('a text cell of the file that is corrected leaves the examples, and the Messages panel says it was edited', async ({ page }) => {
  await openApp(page);
  await pickFile(page, 'text-and-dates.csv', readFileSync(`${root}tests/fixtures/bad/text-and-dates.csv`));
  const message = page.getByTestId('cell-issues-message');
  await expect(message.getByRole('button')).toHaveText(['row 2, Sensor-2: ‘n/a?’', 'row 4, Sensor-7: ‘2020-01-23’', 'row 6, Sensor-20: ‘high’']);
  await editCell(page, 1, 'Sensor-2', '0.5');
  await expect(message.getByRole('button')).toHaveText(['row 4, Sensor-7: ‘2020-01-23’', 'row 6, Sensor-20: ‘high’']);
  await expect(page.getByTestId('corrected-issues')).toHaveText('1 of them was edited since.');
  await page.getByTestId('grid').focus();
  await page.keyboard.press('Control+z');
  await expect(message.getByRole('button')).toHaveCount(3);
  await expect(page.getByTestId('corrected-issues')).toHaveCount(0);
});
