/**
 * Issue 11, point 2: the app runs any bundle. The synthetic bundle (tests/fixtures/bundles/synthetic: 37 sensors
 * that are nothing like SECOM's, a Pass/Fail label, a timestamp column) is picked as files and dropped as one zip;
 * its wafers are predicted as onnxruntime predicted them in training; the open file is re-mapped on each switch and
 * back; bad bundles are refused with their own messages, the shipped model staying in use.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { strToU8, zipSync } from 'fflate';
import type { Page } from '@playwright/test';
import { bundleFixture } from '../unit/bundle-fixture';
import { expect, golden as shippedGolden, openApp, pickFile, records, root, sampleText, test } from './fixtures';

// Read through the contract only (see bundle-fixture.ts): the pipeline's bundle may replace the stand-in one.
const fixture = bundleFixture(root);
const { manifest, golden, dir: DIR, names: NAMES } = fixture;
const WAFERS = fixture.wafersCsv;
const N = manifest.features.length;
const shippedModel = JSON.parse(readFileSync(`${root}public/models/model.json`, 'utf8')) as { name: string; version: string };

type BundleFile = { name: string; mimeType: string; buffer: Buffer };

function bundleFiles(change: Record<string, Buffer | null> = {}): BundleFile[] {
  return NAMES.flatMap((name) => {
    const replaced = change[name];
    if (replaced === null) return [];
    return [{ name, mimeType: 'application/octet-stream', buffer: replaced ?? readFileSync(`${DIR}/${name}`) }];
  });
}

async function pickBundle(page: Page, files: BundleFile[]): Promise<void> {
  await page.getByTestId('bundle-input').setInputFiles(files);
}

/** Drops one file (any bytes) on an element, as a user dragging it from the desktop would. */
async function dropOn(page: Page, selector: string, name: string, bytes: Uint8Array): Promise<void> {
  const dataTransfer = await page.evaluateHandle(
    ({ name, base64 }) => {
      const transfer = new DataTransfer();
      const data = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      transfer.items.add(new File([data], name));
      return transfer;
    },
    { name, base64: Buffer.from(bytes).toString('base64') },
  );
  await page.dispatchEvent(selector, 'dragenter', { dataTransfer });
  await page.dispatchEvent(selector, 'dragover', { dataTransfer });
  await page.dispatchEvent(selector, 'drop', { dataTransfer });
}

function bundleZip(prefix = ''): Uint8Array {
  return zipSync(Object.fromEntries(NAMES.map((n) => [`${prefix}${n}`, new Uint8Array(readFileSync(`${DIR}/${n}`))])));
}

async function downloadProbabilities(page: Page): Promise<{ ids: string[]; p: number[] }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-button').click()]);
  const lines = records(readFileSync(await download.path(), 'utf8'));
  const header = lines[0]!.split(',');
  const at = header.indexOf('fault_probability');
  const id = header.indexOf(fixture.idHeader);
  const rows = lines.slice(1).map((line) => line.split(','));
  return { ids: rows.map((r) => r[id] ?? ''), p: rows.map((r) => Number(r[at])) };
}

async function expectGoldenPredictions(page: Page): Promise<void> {
  await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', String(golden.wafers.length));
  const got = await downloadProbabilities(page);
  expect(got.ids).toEqual(golden.wafers.map((w) => w.id));
  got.p.forEach((p, i) => expect(Math.abs(p - (golden.wafers[i]?.probability ?? Number.NaN)), `wafer ${golden.wafers[i]?.id}`).toBeLessThanOrEqual(1e-5));
}

const activeModel = (page: Page) => page.getByTestId('active-model');

test('the bundle picked as files: every text follows its sensors, and its wafers predict as onnxruntime did', async ({ page }) => {
  await openApp(page);
  await expect(activeModel(page)).toContainText('shipped with the page');
  await pickBundle(page, bundleFiles());
  await expect(activeModel(page)).toContainText(`${manifest.name} ${manifest.version} — from model.json + ${NAMES.length - 1} files`);
  await expect(page.getByTestId('model-notice')).toContainText(`The threshold is this model’s own, ${manifest.threshold.value.toFixed(3)}.`);
  await expect(page.locator('.tagline')).toContainText(`from their ${N} sensor readings`);
  await expect(page.getByTestId('drop-zone')).toContainText(`(${manifest.features[0]} … ${manifest.features.at(-1)})`);
  // The sample holds SECOM's sensors: it is not offered with this model.
  await expect(page.getByTestId('sample-button')).toHaveCount(0);
  await expect(page.getByTestId('model-card')).toContainText(`of the ${N} sensors.`);
  await expect(page.getByTestId('model-card')).not.toContainText('Sensor-');

  await pickFile(page, 'synthetic-wafers.csv', WAFERS);
  const columns = page.getByTestId('columns-report');
  await expect(columns).toContainText(`${N} of ${N} sensor columns matched the model.`);
  await expect(columns).toContainText(`Wafer names from column “${fixture.idHeader}”.`);
  await expect(columns).toContainText(`Label column “${manifest.label.column_names[0]}” found`);
  await expect(columns).toContainText('“timestamp”');
  await expect(page.getByTestId('evaluation')).toBeVisible();
  await expectGoldenPredictions(page);
});

test('the bundle dropped on the model card as one zip', async ({ page }) => {
  await openApp(page);
  await dropOn(page, '[data-testid="model-chooser"]', 'synthetic.zip', bundleZip());
  await expect(activeModel(page)).toContainText(`${manifest.name} ${manifest.version} — from synthetic.zip`);
  await pickFile(page, 'synthetic-wafers.csv', WAFERS);
  await expectGoldenPredictions(page);
});

test('a switch re-maps the open file with its edits, and "Back to the shipped model" does it in reverse', async ({ page }) => {
  // A file both models can read: the synthetic wafers with the first 60 sample wafers beside them.
  const secom = records(sampleText);
  const both = records(WAFERS).map((line, i) => `${line},${secom[i]}`).join('\n') + '\n';
  const own = records(WAFERS)[0]!.split(',').indexOf(fixture.ownSensor);
  await openApp(page);
  await pickFile(page, 'both.csv', both);
  await expect(page.getByTestId('columns-report')).toContainText('590 of 590 sensor columns matched the model.');
  const cell = page.locator(`[data-testid="grid-cell"][data-row="1"][data-col="${own}"]`);
  await cell.dblclick();
  await page.getByTestId('cell-editor').fill('broken');
  await page.getByTestId('cell-editor').press('Enter');
  await expect(cell).toContainText('broken');

  await pickBundle(page, bundleFiles());
  await expect(activeModel(page)).toContainText(manifest.name);
  const notice = page.getByTestId('model-notice');
  await expect(notice).toContainText(`both.csv was read again against its ${N} sensors`);
  await expect(notice).toContainText('All your 1 edit carried over.');
  await expect(page.getByTestId('columns-report')).toContainText(`${N} of ${N} sensor columns matched the model.`);
  // Under this model the edited cell is a sensor reading, and 'broken' is none: the Messages say so.
  await expect(page.getByTestId('edit-issues-message')).toContainText(`row 2, ${fixture.ownSensor}: ‘broken’`);
  await expect(cell).toContainText('broken');
  // The download is the file as this model reads it: the edit kept, every other wafer as the bundle's training scored it.
  const asBundle = await downloadProbabilities(page);
  expect(asBundle.ids).toEqual(golden.wafers.map((w) => w.id));
  asBundle.p.forEach((p, i) => {
    if (i !== 1) expect(Math.abs(p - golden.wafers[i]!.probability), `wafer ${i + 1}`).toBeLessThanOrEqual(1e-5);
  });

  await page.getByTestId('shipped-model-button').click();
  await expect(activeModel(page)).toContainText('shipped with the page');
  await expect(page.getByTestId('model-notice')).toContainText('1 of them is in a column this model does not read (kept in the download)');
  await expect(page.getByTestId('columns-report')).toContainText('590 of 590 sensor columns matched the model.');
  await expect(page.getByTestId('edit-issues-message')).toHaveCount(0);
  await expect(cell).toContainText('broken');
  // The edit is in a column the shipped model does not read: every wafer scores as the sample's golden says.
  const asShipped = await downloadProbabilities(page);
  asShipped.p.forEach((p, i) => expect(Math.abs(p - shippedGolden.sample.probabilities[i]!), `wafer ${i + 1}`).toBeLessThanOrEqual(1e-5));
});

test('a bundle that cannot read the open file is not switched to, and may be used without the file', async ({ page }) => {
  await openApp(page);
  await page.getByTestId('sample-button').click();
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '100');
  await pickBundle(page, bundleFiles());
  const error = page.getByTestId('model-error');
  await expect(error).toContainText(`${manifest.name} ${manifest.version} was not switched to, because “wafer_23012020_041211.csv” cannot be read with it`);
  await expect(error).toContainText('stays in use, with wafer_23012020_041211.csv as it was.');
  await expect(activeModel(page)).toContainText('shipped with the page');
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '100');
  await page.getByTestId('switch-without-file').click();
  await expect(activeModel(page)).toContainText(manifest.name);
  await expect(page.getByTestId('model-notice')).toContainText('wafer_23012020_041211.csv was closed: it cannot be read with this model.');
  await expect(page.getByTestId('summary')).toHaveCount(0);
  await expect(page.getByTestId('columns-report')).toHaveCount(0);
});

test('bad bundles are refused with their own messages; the shipped model stays in use', async ({ page }) => {
  await openApp(page);
  const tampered = Buffer.from(readFileSync(`${DIR}/golden.json`));
  tampered[20] = tampered[20]! ^ 1;
  const manifestText = fixture.manifestText;
  const cases: { give: () => Promise<void>; message: string }[] = [
    { give: () => pickBundle(page, bundleFiles({ 'model.json': null })), message: 'There is no model.json among the files given' },
    { give: () => pickBundle(page, bundleFiles({ 'model.json': Buffer.from('{"name": ') })), message: 'The bundle’s model.json is not valid JSON' },
    { give: () => pickBundle(page, bundleFiles({ 'model.json': Buffer.from(manifestText.replace(/"metrics"(\s*:)/, '"metrix"$1')) })), message: 'it has no "metrics"' },
    { give: () => pickBundle(page, bundleFiles({ 'golden.json': null })), message: 'The bundle has no golden.json, which model.json lists as bundle.files.golden' },
    { give: () => pickBundle(page, bundleFiles({ 'golden.json': tampered })), message: 'The bundle file golden.json does not match its description: sha256 is' },
    { give: () => pickBundle(page, bundleFiles({ 'model.json': Buffer.from(manifestText.replace(/"format":\s*2/, '"format": 3')) })), message: 'The bundle is of format 3; this page reads bundles of format 2 only.' },
    { give: () => dropOn(page, '[data-testid="model-chooser"]', 'nested.zip', bundleZip('synthetic/')), message: '“nested.zip” holds folders (synthetic/' },
    { give: () => dropOn(page, '[data-testid="model-chooser"]', 'broken.zip', strToU8('PK\u0003\u0004 no zip')), message: '“broken.zip” is not a readable zip archive' },
  ];
  // A model file that is no ONNX graph, and one whose input is narrower than the features: model.json lists their sha256.
  const garbage = Buffer.from('not an onnx graph');
  const onnxSha = manifest.onnx.sha256;
  const withOnnxSha = (sha: string) => Buffer.from(manifestText.replace(onnxSha, sha));
  const narrow = JSON.parse(manifestText) as { features: string[]; bundle: { files: Record<string, unknown> } };
  narrow.features = narrow.features.slice(0, N - 1);
  // explain.json and reference.json name the full feature list (refused first, for that): leave them out here.
  delete narrow.bundle.files['explain'];
  delete narrow.bundle.files['reference'];
  cases.push(
    { give: () => pickBundle(page, bundleFiles({ [manifest.onnx.file]: garbage, 'model.json': withOnnxSha(createHash('sha256').update(garbage).digest('hex')) })), message: `The model file ${manifest.onnx.file} could not be read` },
    { give: () => pickBundle(page, bundleFiles({ 'model.json': Buffer.from(JSON.stringify(narrow)) })), message: `The model file ${manifest.onnx.file} uses input column ${N - 1}, beyond the ${N - 1} features model.json lists.` },
  );
  for (const c of cases) {
    await c.give();
    await expect(page.getByTestId('model-error-text')).toContainText(c.message);
    await expect(page.getByTestId('model-error-text')).toContainText(`${shippedModel.name} ${shippedModel.version} (shipped with the page) stays in use.`);
    await expect(activeModel(page)).toContainText('shipped with the page');
  }
});

test('a reload offers the kept file with the model it was open with, and restoring opens that bundle again', async ({ page }) => {
  const own = records(WAFERS)[0]!.split(',').indexOf(fixture.ownSensor);
  await openApp(page);
  await pickBundle(page, bundleFiles());
  await expect(page.getByTestId('shipped-model-button')).toBeVisible();
  await pickFile(page, 'synthetic-wafers.csv', WAFERS);
  await expect(page.getByTestId('kept-note')).toBeVisible();
  const cell = page.locator(`[data-testid="grid-cell"][data-row="0"][data-col="${own}"]`);
  await cell.dblclick();
  await page.getByTestId('cell-editor').fill('broken');
  await page.getByTestId('cell-editor').press('Enter');
  await expect(page.getByTestId('edit-issues-message')).toContainText(`row 1, ${fixture.ownSensor}: ‘broken’`);

  page.on('dialog', (dialog) => void dialog.accept());
  await page.reload();
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-state', 'ready');
  await expect(activeModel(page)).toContainText('shipped with the page');
  await expect(page.getByTestId('restore-model')).toContainText(`They were kept with ${manifest.name} ${manifest.version} (from model.json + ${NAMES.length - 1} files)`);
  await page.getByTestId('restore-button').click();
  await expect(activeModel(page)).toContainText(`${manifest.name} ${manifest.version} — from model.json + ${NAMES.length - 1} files`);
  await expect(page.getByText('Restored synthetic-wafers.csv with your edit from this browser. It is open with the model it was kept with')).toBeVisible();
  await expect(page.getByTestId('edit-issues-message')).toContainText(`row 1, ${fixture.ownSensor}: ‘broken’`);
  await expect(page.getByTestId('summary')).toHaveAttribute('data-rows', String(golden.wafers.length));
});

test('when the shipped model cannot be loaded, another model can still be used', async ({ page }) => {
  await page.route('**/secom-xgb.onnx', async (route) => {
    const response = await route.fetch();
    const body = Buffer.from(await response.body());
    body[body.length >> 1] ^= 0xff;
    await route.fulfill({ response, body });
  });
  await page.goto('./');
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-state', 'error', { timeout: 30_000 });
  await expect(activeModel(page)).toContainText('No model is in use: the one shipped with the page could not be loaded.');
  await pickBundle(page, bundleFiles());
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-state', 'ready');
  await expect(activeModel(page)).toContainText(`${manifest.name} ${manifest.version}`);
  await expect(page.getByTestId('shipped-model-button')).toHaveCount(0);
  await pickFile(page, 'synthetic-wafers.csv', WAFERS);
  await expectGoldenPredictions(page);
});
