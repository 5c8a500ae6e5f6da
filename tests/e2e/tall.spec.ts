/**
 * Every row is reachable however tall the file: 1.5 M rows × 28 px is beyond Chromium's maximum element height
 * (≈ 33.5 M px), so the grid caps its spacer and stretches scrollTop over the rows. The last row must show, inside
 * the grid's viewport, both when the scrollbar is dragged to the bottom and by Ctrl+End.
 *
 * The file (an id and one sensor column, 22 MB) is generated at test time into a temporary directory.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator, Page } from '@playwright/test';
import { expect, openApp, root, test } from './fixtures';

const ROWS = 1_500_000;
const LAST = ROWS - 1;
/** A row near the end whose reading is text: the messages list offers to jump to it. */
const TEXT_ROW = ROWS - 10;
const HEADER_H = 34;

/** The rendered row at a data row (file order, so also its position). */
function gridRow(page: Page, row: number): Locator {
  return page.locator(`[role="row"]:has([data-testid="row-probability"][data-row="${row}"])`);
}

/** The row is rendered, named as the file names it, and wholly inside the grid's viewport (below the header). */
async function expectRowInView(page: Page, row: number): Promise<void> {
  const shown = gridRow(page, row);
  await expect(shown.getByRole('rowheader')).toHaveText(`W${String(row + 1).padStart(7, '0')}`);
  await expect(shown).toHaveAttribute('aria-rowindex', String(row + 2));
  await expect
    .poll(async () => {
      const view = await page.getByTestId('grid').evaluate((el) => {
        const box = el.getBoundingClientRect();
        return { top: box.top + el.clientTop, bottom: box.top + el.clientTop + el.clientHeight };
      });
      const box = await shown.boundingBox();
      return box !== null && box.y >= view.top + HEADER_H - 0.5 && box.y + box.height <= view.bottom + 0.5;
    })
    .toBe(true);
}

test('the last row of a 1.5 M-row file is reachable by scrolling to the bottom and by Ctrl+End, and a jump from the messages reaches its row', async ({ page }) => {
  test.setTimeout(300_000);
  const dir = mkdtempSync(join(tmpdir(), 'grid-tall-'));
  const file = join(dir, 'tall-1.5M.csv');
  try {
    execFileSync(process.execPath, [`${root}tests/fixtures/tall/generate.mjs`, file, String(ROWS), String(TEXT_ROW)]);
    await openApp(page);
    const loadStart = Date.now();
    await page.getByTestId('file-input').setInputFiles(file);
    // One sensor of 590: the file loads and shows, and prediction waits for consent (not needed here).
    await expect(page.getByTestId('columns-report')).toContainText('1,500,000 wafers', { timeout: 240_000 });
    console.log(`${ROWS} rows loaded and shown in ${Date.now() - loadStart} ms`);
    await expectRowInView(page, 0);

    const grid = page.getByTestId('grid');

    // The scrollbar dragged to the bottom.
    await grid.evaluate((el) => (el.scrollTop = el.scrollHeight - el.clientHeight));
    await expectRowInView(page, LAST);

    // Back to the top, then Ctrl+End: the last row's last cell is active and in view.
    await grid.evaluate((el) => (el.scrollTop = 0));
    await expectRowInView(page, 0);
    await grid.focus();
    await page.keyboard.press('Control+End');
    await expectRowInView(page, LAST);
    await expect(gridRow(page, LAST).locator('[data-testid="grid-cell"][aria-selected="true"]')).toBeVisible();
    await expect(grid).toHaveAttribute('aria-activedescendant', `cell-${LAST}-1`);

    // Page Up from the end and Ctrl+Home move as they do in a short file.
    await page.keyboard.press('PageUp');
    const page1 = Number(await grid.getAttribute('aria-activedescendant').then((id) => id?.split('-')[1]));
    expect(page1).toBeLessThan(LAST);
    await expectRowInView(page, page1);
    await page.keyboard.press('Control+Home');
    await expectRowInView(page, 0);

    // The messages list's jump to a text cell near the end brings it into view and makes it active.
    await page.getByTestId('cell-issues-message').getByRole('button', { name: `row ${TEXT_ROW + 1}, Sensor-1: ‘abcde’` }).click();
    await expectRowInView(page, TEXT_ROW);
    await expect(grid).toHaveAttribute('aria-activedescendant', `cell-${TEXT_ROW}-1`);
    await expect(gridRow(page, TEXT_ROW).locator('[data-testid="grid-cell"][data-col="1"]')).toHaveAttribute('data-issue', 'true');

    // How: the spacer stays well below Chromium's maximum element height (33,554,430 px it would be clamped at).
    expect(await grid.evaluate((el) => el.scrollHeight)).toBeLessThan(20_000_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
