import { test as base, expect, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const samplePath = `${root}tests/fixtures/wafer/wafer_23012020_041211.csv`;
export const sampleText = readFileSync(samplePath, 'utf8');
export const golden = JSON.parse(readFileSync(`${root}public/models/golden.json`, 'utf8')) as {
  threshold: number;
  /** The sensors the model reads (the coverage rule counts them). */
  model_sensors: string[];
  sample: { file: string; probabilities: number[] };
  /** A sample cell whose edit moves that wafer's probability by ≥ 0.1 (written by the training pipeline). */
  edit_probe: { row: number; feature: string; value: string; probability: number };
};
export const modelJson = JSON.parse(readFileSync(`${root}public/models/model.json`, 'utf8')) as {
  threshold: { value: number };
  features: string[];
};

/** The number of sensors the model reads, and how many of them a quote-free fixture's row (0-based) has. */
export const modelSensorCount = golden.model_sensors.length;
export function fixtureReadings(text: string, row: number): number {
  const [head, ...rows] = text.split(/\r?\n/).filter((l) => l !== '');
  const names = (head ?? '').split(',');
  const cells = (rows[row] ?? '').split(',');
  return golden.model_sensors.filter((name) => names.includes(name) && (cells[names.indexOf(name)] ?? '').trim() !== '').length;
}

/**
 * Every test records the requests the page makes; any request that leaves the page's origin fails the test
 * (the app promises that no data leaves the browser).
 */
export const test = base.extend<{ foreignRequests: string[] }>({
  foreignRequests: [
    async ({ page, baseURL }, use) => {
      const origin = new URL(baseURL ?? 'http://127.0.0.1').origin;
      const foreign: string[] = [];
      page.on('request', (request) => {
        const url = request.url();
        if (url.startsWith('blob:') || url.startsWith('data:')) return;
        if (new URL(url).origin !== origin) foreign.push(url);
      });
      await use(foreign);
      expect(foreign, 'requests outside the page origin').toEqual([]);
    },
    { auto: true },
  ],
});
export { expect };

/** Opens the app and waits until the model is loaded and verified. */
export async function openApp(page: Page): Promise<void> {
  await page.goto('./');
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
}

/** Gives the app a file through the file picker (the drop zone's button). */
export async function pickFile(page: Page, name: string, content: string | Buffer): Promise<void> {
  await page.getByTestId('file-input').setInputFiles({
    name,
    mimeType: name.endsWith('.txt') ? 'text/plain' : 'text/csv',
    buffer: typeof content === 'string' ? Buffer.from(content, 'utf8') : content,
  });
}

/** Drops files on the page as a user dragging from the desktop would. */
export async function dropFiles(page: Page, files: { name: string; content: string }[]): Promise<void> {
  const dataTransfer = await page.evaluateHandle((list) => {
    const transfer = new DataTransfer();
    for (const file of list) transfer.items.add(new File([file.content], file.name, { type: 'text/csv' }));
    return transfer;
  }, files);
  await page.dispatchEvent('body', 'dragenter', { dataTransfer });
  await page.dispatchEvent('body', 'dragover', { dataTransfer });
  await page.dispatchEvent('body', 'drop', { dataTransfer });
}

/** Splits CSV text into records (the fixtures have no quoted newlines). */
export function records(text: string): string[] {
  return text.replace(/^\uFEFF/, '').split(/\r?\n/).filter((line) => line.length > 0);
}

/** The sample with some columns removed, for the missing-columns message. */
export function sampleWithout(columns: Set<string>): string {
  const lines = records(sampleText);
  const header = lines[0].split(',');
  const keep = header.map((name) => !columns.has(name));
  return lines.map((line) => line.split(',').filter((_, i) => keep[i]).join(',')).join('\n') + '\n';
}

/** The sample with given cells (data row, header name) replaced. */
export function sampleWithCells(cells: { row: number; column: string; text: string }[]): string {
  const lines = records(sampleText);
  const header = lines[0].split(',');
  const rows = lines.slice(1).map((line) => line.split(','));
  for (const cell of cells) rows[cell.row][header.indexOf(cell.column)] = cell.text;
  return [lines[0], ...rows.map((r) => r.join(','))].join('\n') + '\n';
}

/**
 * Scrolls the grid to a cell of the loaded file (the grid renders only what is in view) and returns the cell and
 * its row's probability. Assumes the grid's fixed row height and column width (28 px × 110 px).
 */
export async function showCell(page: Page, row: number, column: string) {
  const col = records(sampleText)[0].split(',').indexOf(column);
  await page.getByTestId('grid').evaluate(
    (el, at) => {
      el.scrollTop = Math.max(0, at.row * 28 - 100);
      el.scrollLeft = Math.max(0, at.col * 110 - 300);
    },
    { row, col },
  );
  const cell = page.locator(`[data-testid="grid-cell"][data-row="${row}"][data-col="${col}"]`);
  const probability = page.locator(`[data-testid="row-probability"][data-row="${row}"]`);
  await expect(cell).toBeVisible();
  return { cell, probability, col };
}

/** Edits a cell as a user would (double-click, type, Enter) and returns it as showCell does. */
export async function editCell(page: Page, row: number, column: string, text: string) {
  const shown = await showCell(page, row, column);
  await shown.cell.dblclick();
  await page.getByTestId('cell-editor').fill(text);
  await page.getByTestId('cell-editor').press('Enter');
  await expect(shown.cell).toContainText(text);
  await expect(shown.cell).toHaveAttribute('data-edited', 'true');
  return shown;
}
