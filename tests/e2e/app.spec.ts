import { readFileSync } from 'node:fs';
import {
  dropFiles,
  editCell,
  showCell,
  expect,
  golden,
  modelJson,
  openApp,
  pickFile,
  records,
  sampleText,
  sampleWithCells,
  sampleWithout,
  test,
} from './fixtures';

const sampleLines = records(sampleText);
const sampleLabels = sampleLines.slice(1).map((line) => line.split(',').at(-1)?.trim());

async function downloadText(page: import('@playwright/test').Page, testId: string): Promise<{ name: string; text: string }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  const path = await download.path();
  return { name: download.suggestedFilename(), text: readFileSync(path, 'utf8') };
}

function expectedCounts(threshold: number) {
  let flagged = 0, tp = 0, fp = 0, fn = 0, tn = 0;
  golden.sample.probabilities.forEach((p, i) => {
    const fault = p >= threshold;
    const fail = sampleLabels[i] === '1';
    if (fault) flagged++;
    if (fault && fail) tp++;
    else if (fault) fp++;
    else if (fail) fn++;
    else tn++;
  });
  return { flagged, tp, fp, fn, tn };
}

test('opens ready, says what it does and shows the model card', async ({ page }) => {
  await openApp(page);
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await expect(page.getByText(/never leaves/i).first()).toBeVisible();
  const card = page.getByTestId('model-card');
  await expect(card).toBeVisible();
  await expect(card).toContainText('ROC-AUC');
});

test('sample: predicts, moves the threshold, evaluates and downloads what golden says', async ({ page }) => {
  await openApp(page);
  await page.getByTestId('sample-button').click();
  const summary = page.getByTestId('summary');
  await expect(summary).toHaveAttribute('data-rows', '100');

  // At the model's threshold the flagged count and confusion matrix match the training pipeline's golden scores.
  const atModel = expectedCounts(modelJson.threshold.value);
  await expect(summary).toHaveAttribute('data-flagged', String(atModel.flagged));
  const evaluation = page.getByTestId('evaluation');
  await expect(evaluation).toHaveAttribute('data-tp', String(atModel.tp));
  await expect(evaluation).toHaveAttribute('data-fp', String(atModel.fp));
  await expect(evaluation).toHaveAttribute('data-fn', String(atModel.fn));
  await expect(evaluation).toHaveAttribute('data-tn', String(atModel.tn));

  // Moving the threshold updates the summary and the evaluation.
  const sorted = [...golden.sample.probabilities].sort((a, b) => b - a);
  const newThreshold = Number(((sorted[2] + sorted[3]) / 2).toFixed(6)); // exactly 3 wafers above
  await page.getByTestId('threshold-input').fill(String(newThreshold));
  await page.getByTestId('threshold-input').press('Enter');
  const moved = expectedCounts(newThreshold);
  expect(moved.flagged).toBe(3);
  await expect(summary).toHaveAttribute('data-flagged', '3');
  await expect(evaluation).toHaveAttribute('data-tp', String(moved.tp));
  await expect(evaluation).toHaveAttribute('data-fp', String(moved.fp));
  await expect(page.getByTestId('histogram')).toBeVisible();

  // The download keeps every original record byte for byte and appends the two result columns.
  const { name, text } = await downloadText(page, 'download-button');
  expect(name).toMatch(/wafer_23012020_041211.*\.csv$/);
  const out = records(text);
  expect(out).toHaveLength(sampleLines.length);
  expect(out[0]).toBe(`${sampleLines[0]},fault_probability,prediction`);
  out.slice(1).forEach((line, i) => {
    expect(line.startsWith(`${sampleLines[i + 1]},`), `row ${i + 1} keeps its original cells`).toBe(true);
    const [probability, prediction] = line.slice(sampleLines[i + 1].length + 1).split(',');
    expect(Math.abs(Number(probability) - golden.sample.probabilities[i])).toBeLessThanOrEqual(1e-5);
    expect(prediction).toBe(golden.sample.probabilities[i] >= newThreshold ? 'Fault' : 'OK');
  });

  // "Flagged only" holds the header and the 3 flagged wafers.
  const flagged = records((await downloadText(page, 'download-flagged-button')).text);
  expect(flagged).toHaveLength(1 + 3);
  expect(flagged.slice(1).every((line) => line.endsWith(',Fault'))).toBe(true);
});

test('editing a cell re-predicts that wafer, and the edit is in the download', async ({ page }) => {
  const probe = golden.edit_probe;
  await openApp(page);
  await page.getByTestId('sample-button').click();
  await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', '100');
  const before = golden.sample.probabilities[probe.row];
  await expect((await showCell(page, probe.row, probe.feature)).probability).toContainText(before.toFixed(3));

  const { probability, col } = await editCell(page, probe.row, probe.feature, probe.value);
  await expect(probability).toContainText(probe.probability.toFixed(3));

  const { text } = await downloadText(page, 'download-button');
  const line = records(text)[probe.row + 1].split(',');
  expect(line[col]).toBe(probe.value);
  expect(Math.abs(Number(line.at(-2)) - probe.probability)).toBeLessThanOrEqual(1e-5);
});

test('a file dropped anywhere on the page is loaded', async ({ page }) => {
  await openApp(page);
  await dropFiles(page, [{ name: 'dropped.csv', content: sampleText }]);
  await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', '100');
  await expect(page.getByTestId('columns-report')).toContainText('590');
});

test('missing sensor columns are named, and prediction waits for consent', async ({ page }) => {
  await openApp(page);
  const missing = new Set(Array.from({ length: 28 }, (_, i) => `Sensor-${563 + i}`));
  await pickFile(page, 'missing.csv', sampleWithout(missing));
  const messages = page.getByTestId('messages');
  await expect(messages).toContainText('Sensor-563');
  await expect(messages).toContainText('Sensor-590');
  await expect(messages).toContainText('28 columns');
  await expect(page.getByTestId('summary')).toHaveCount(0);
  await expect(page.getByTestId('consent-button')).toBeDisabled();
  await page.getByTestId('consent-checkbox').first().check();
  await page.getByTestId('consent-button').first().click(); // consenting runs the prediction
  await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', '100');
});

test('text cells are counted, located, highlighted and treated as missing', async ({ page }) => {
  await openApp(page);
  await pickFile(
    page,
    'text-cells.csv',
    sampleWithCells([
      { row: 0, column: 'Sensor-3', text: 'abc' },
      { row: 4, column: 'Sensor-10', text: '2020-01-23' },
    ]),
  );
  const messages = page.getByTestId('messages');
  await expect(messages).toContainText(/2 cells?/);
  await expect(messages).toContainText('abc');
  await expect(messages).toContainText('2020-01-23');
  await expect(messages).toContainText(/missing/i);
  const header = sampleLines[0].split(',');
  const cell = page.locator(`[data-testid="grid-cell"][data-row="0"][data-col="${header.indexOf('Sensor-3')}"]`);
  await expect(cell).toHaveAttribute('data-issue', 'true');
  await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', '100');
});
