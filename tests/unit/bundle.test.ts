/**
 * Bundles the user gives (docs/bundle.md, format 2), read with the real synthetic bundle's files: as files and as
 * one zip, every refusal with its own message, and the engine's switch (a failed one changes nothing).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { strToU8, Zip, ZipPassThrough, zipSync } from 'fflate';
import { describe, expect, test } from 'vitest';
import { readBundle } from '../../workers/engine/bundle';
import { sha256Hex } from '../../workers/engine/model';
import type { EngineError, Result } from '../../workers/api';
import { fileFromDisk, modelJson as shippedJson, path, readyEngine, SAMPLE, unwrap } from './helpers';

const DIR = 'tests/fixtures/bundles/synthetic';
const WAFERS = 'tests/fixtures/bundles/synthetic-wafers.csv';
const names = readdirSync(path(DIR)).sort();
const bytesOf = (name: string) => new Uint8Array(readFileSync(path(`${DIR}/${name}`)));
const manifest = JSON.parse(readFileSync(path(`${DIR}/model.json`), 'utf8')) as Record<string, unknown> & {
  onnx: { file: string; sha256: string };
  features: string[];
  bundle: { format: number; files: Record<string, { file: string; sha256: string }> };
};
const golden = JSON.parse(readFileSync(path(`${DIR}/golden.json`), 'utf8')) as { wafers: { id: string; probability: number }[] };

/** The bundle's files, with some replaced (a Uint8Array or text) or left out (null). */
function bundleFiles(change: Record<string, Uint8Array | string | null> = {}): File[] {
  const all = new Set([...names, ...Object.keys(change)]);
  return [...all].flatMap((name) => {
    const replaced = change[name];
    if (replaced === null) return [];
    const bytes = replaced === undefined ? bytesOf(name) : typeof replaced === 'string' ? strToU8(replaced) : replaced;
    return [new File([bytes as BlobPart], name)];
  });
}

function withManifest(edit: (m: Record<string, unknown>) => void): string {
  const m = structuredClone(manifest) as Record<string, unknown>;
  edit(m);
  return JSON.stringify(m);
}

function zipOf(entries: Record<string, Uint8Array>, name = 'synthetic.zip'): File {
  return new File([zipSync(entries) as BlobPart], name);
}

/** A zip holding `name` twice (zipSync keys entries by name, so the streaming writer makes it). */
function zipWithDuplicate(name: string): File {
  const chunks: Uint8Array[] = [];
  const zip = new Zip((err, chunk) => {
    if (err) throw err;
    chunks.push(chunk);
  });
  for (const n of [...names, name]) {
    const entry = new ZipPassThrough(n);
    zip.add(entry);
    entry.push(bytesOf(n), true);
  }
  zip.end();
  return new File(chunks as BlobPart[], 'twice.zip');
}

async function refusal(files: File[]): Promise<EngineError> {
  try {
    await readBundle(files);
  } catch (e) {
    return e as EngineError;
  }
  throw new Error('the bundle was accepted');
}

function failed<T>(r: Result<T>): EngineError {
  if (r.ok) throw new Error('expected a failure');
  return r.error;
}

describe('reading a bundle', () => {
  test('its files, given together: model.json checked, the ONNX bytes as they are, every listed file hashed', async () => {
    const bundle = await readBundle(bundleFiles());
    expect(bundle.json.features).toHaveLength(37);
    expect(bundle.json.features).toContain('chamber_pressure_03');
    expect(await sha256Hex(bundle.onnx)).toBe(manifest.onnx.sha256);
    expect(bundle.from).toBe(`model.json + ${names.length - 1} files`);
  });

  test('one zip of them', async () => {
    const bundle = await readBundle([zipOf(Object.fromEntries(names.map((n) => [n, bytesOf(n)])))]);
    expect(bundle.json.name).toBe(manifest['name']);
    expect(bundle.from).toBe('synthetic.zip');
  });

  test('no model.json', async () => {
    const e = await refusal(bundleFiles({ 'model.json': null }));
    expect(e).toMatchObject({ code: 'bundle-invalid' });
    expect(e.message).toContain('There is no model.json among the files given (golden.json, report.md, synthetic-xgb.onnx)');
  });

  test('model.json that is not JSON', async () => {
    const e = await refusal(bundleFiles({ 'model.json': '{"name": "half' }));
    expect(e.message).toMatch(/^The bundle’s model\.json is not valid JSON/);
  });

  test('model.json missing keys: every one is named', async () => {
    const e = await refusal(bundleFiles({ 'model.json': withManifest((m) => { delete m['metrics']; delete m['recipe']; }) }));
    expect(e).toMatchObject({ code: 'model-invalid' });
    expect(e.message).toContain('it has no "metrics" and "recipe"');
  });

  test('a listed file that is missing is named', async () => {
    const e = await refusal(bundleFiles({ 'golden.json': null }));
    expect(e.message).toContain('The bundle has no golden.json, which model.json lists as bundle.files.golden');
    const noOnnx = await refusal(bundleFiles({ 'synthetic-xgb.onnx': null }));
    expect(noOnnx.message).toContain('The bundle has no synthetic-xgb.onnx, which model.json lists as its ONNX model (onnx.file)');
  });

  test('a file whose sha256 differs is named, with both digests', async () => {
    const tampered = bytesOf('golden.json').slice();
    tampered[10] = (tampered[10] as number) ^ 1;
    const e = await refusal(bundleFiles({ 'golden.json': tampered }));
    expect(e).toMatchObject({ code: 'model-hash-mismatch' });
    expect(e.message).toContain(`The bundle file golden.json does not match its description: sha256 is ${await sha256Hex(tampered)}, model.json expects ${manifest.bundle.files['golden']?.sha256}`);
  });

  test('a zip with folders, a zip with a file twice, a zip given with other files', async () => {
    const nested = await refusal([zipOf(Object.fromEntries(names.map((n) => [`synthetic/${n}`, bytesOf(n)])))]);
    expect(nested.message).toContain('“synthetic.zip” holds folders (synthetic/golden.json, synthetic/model.json, synthetic/report.md, …)');
    const twice = await refusal([zipWithDuplicate('model.json')]);
    expect(twice.message).toContain('“twice.zip” holds two files named model.json');
    const mixed = await refusal([zipOf({ 'model.json': bytesOf('model.json') }), new File(['x'], 'golden.json')]);
    expect(mixed.message).toContain('“synthetic.zip” is a zip given with other files');
    const notZip = await refusal([new File(['PK\u0003\u0004 not really'], 'broken.zip')]);
    expect(notZip.message).toMatch(/^“broken\.zip” is not a readable zip archive/);
  });

  test('an unsupported bundle format: another number, or no bundle section (a model.json from before format 2)', async () => {
    const three = await refusal(bundleFiles({ 'model.json': withManifest((m) => { (m['bundle'] as { format: number }).format = 3; }) }));
    expect(three).toMatchObject({ code: 'bundle-unsupported', message: 'The bundle is of format 3; this page reads bundles of format 2 only.' });
    const none = await refusal(bundleFiles({ 'model.json': withManifest((m) => { delete m['bundle']; }) }));
    expect(none).toMatchObject({ code: 'bundle-unsupported' });
    expect(none.message).toContain('has no "bundle" section');
  });

  test('a listed file name with a path in it is refused', async () => {
    const e = await refusal(bundleFiles({ 'model.json': withManifest((m) => { (m['bundle'] as typeof manifest.bundle).files['golden']!.file = '../golden.json'; }) }));
    expect(e.message).toContain('lists bundle.files.golden.file as "../golden.json"');
  });
});

describe('switching the engine to a bundle', () => {
  test('an ONNX file that onnxruntime cannot load, and one whose input width is not features.length', async () => {
    const engine = await readyEngine();
    const garbage = strToU8('not an onnx graph');
    const unloadable = await engine.useBundle(bundleFiles({ 'synthetic-xgb.onnx': garbage, 'model.json': withManifest((m) => { (m['onnx'] as { sha256: string }).sha256 = '0'.repeat(64); }) }), null);
    expect(failed(unloadable).code).toBe('model-hash-mismatch');
    const sha = await sha256Hex(garbage);
    const bad = await engine.useBundle(bundleFiles({ 'synthetic-xgb.onnx': garbage, 'model.json': withManifest((m) => { (m['onnx'] as { sha256: string }).sha256 = sha; }) }), null);
    expect(failed(bad)).toMatchObject({ code: 'model-invalid' });
    expect(failed(bad).message).toContain('The model file synthetic-xgb.onnx could not be loaded by onnxruntime');
    const narrow = await engine.useBundle(bundleFiles({ 'model.json': withManifest((m) => { m['features'] = manifest.features.slice(0, 36); }) }), null);
    expect(failed(narrow).message).toContain('but model.json lists 36 features: the ONNX graph needs [N, 36]');
  });

  /** golden.json changed, and model.json listing the changed file's sha256 (so only the golden check can object). */
  async function withGolden(edit: (g: { model_sha256: string; wafers: { probability: number; values: unknown[] }[] }) => void): Promise<File[]> {
    const g = JSON.parse(readFileSync(path(`${DIR}/golden.json`), 'utf8')) as Parameters<typeof edit>[0];
    edit(g);
    const text = JSON.stringify(g);
    const sha = await sha256Hex(strToU8(text));
    return bundleFiles({ 'golden.json': text, 'model.json': withManifest((m) => { (m['bundle'] as typeof manifest.bundle).files['golden']!.sha256 = sha; }) });
  }

  test('a model that does not score its own golden.json as training did, or a golden.json of another model', async () => {
    const engine = await readyEngine();
    const off = failed(await engine.useBundle(await withGolden((g) => { g.wafers[3]!.probability += 0.01; }), null));
    expect(off).toMatchObject({ code: 'bundle-invalid' });
    expect(off.message).toMatch(/^The bundle’s model does not score its own golden\.json as its training did: wafer W0404 gets P\(fail\) /);
    const other = failed(await engine.useBundle(await withGolden((g) => { g.model_sha256 = 'ab'.repeat(32); }), null));
    expect(other.message).toContain('The bundle’s golden.json was written for another model file');
    const short = failed(await engine.useBundle(await withGolden((g) => { g.wafers[0]!.values.pop(); }), null));
    expect(short.message).toContain('golden.json wafer 1 does not have 37 values');
    expect(unwrap(await engine.useBundle(await withGolden(() => undefined), null)).model.features).toHaveLength(37);
  });

  test('a failed switch keeps the model and the open file; a good one re-reads the file or closes it; back to the shipped model', async () => {
    const engine = await readyEngine();
    const sample = fileFromDisk(SAMPLE);
    unwrap(await engine.load(sample, shippedJson.threshold.value));
    const before = unwrap(await engine.window({ start: 0, count: 2, colStart: 0, colCount: 5, order: 'file' }));

    failed(await engine.useBundle(bundleFiles({ 'golden.json': null }), { file: sample, choices: {} }));
    const notFitting = failed(await engine.useBundle(bundleFiles(), { file: sample, choices: {} }));
    expect(notFitting.code).toBe('reload-failed');
    expect(notFitting.message).toMatch(/^Chamber fault detector \(synthetic stand-in\) 0\.1\.0 was not switched to, because “wafer_23012020_041211\.csv” cannot be read with it: /);
    const after = unwrap(await engine.window({ start: 0, count: 2, colStart: 0, colCount: 5, order: 'file' }));
    expect(after.rows).toEqual(before.rows);
    expect(unwrap(await engine.summarize(0.5)).results?.rows).toBe(100);

    const switched = unwrap(await engine.useBundle(bundleFiles(), null));
    expect(switched.model.source).toEqual({ kind: 'bundle', from: `model.json + ${names.length - 1} files` });
    expect(switched.load).toBeNull();
    expect(failed(await engine.summarize(0.5)).code).toBe('no-file');

    const wafers = fileFromDisk(WAFERS);
    const loaded = unwrap(await engine.load(wafers, switched.model.threshold.value));
    expect(loaded.summary.mapping.missingFeatures).toEqual([]);
    expect(loaded.summary.label).toMatchObject({ header: 'Pass/Fail', coding: 'declared' });
    const rows = unwrap(await engine.window({ start: 0, count: 1000, colStart: 0, colCount: 1, order: 'file' })).rows;
    expect(rows.map((r) => r.name)).toEqual(golden.wafers.map((w) => w.id));
    rows.forEach((r, i) => expect(Math.abs((r.probability ?? Number.NaN) - (golden.wafers[i]?.probability ?? 0))).toBeLessThan(1e-5));

    const back = unwrap(await engine.useShippedModel({ file: sample, choices: {} }));
    expect(back.model.source).toEqual({ kind: 'shipped' });
    expect(back.model.features).toHaveLength(590);
    expect(back.load?.summary.rows).toBe(100);
    expect(back.load?.results?.threshold).toBe(shippedJson.threshold.value);
  });
});
