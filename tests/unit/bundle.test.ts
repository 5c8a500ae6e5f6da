/**
 * Bundles the user gives (docs/bundle.md, format 2), read with the real synthetic bundle's files: as files and as
 * one zip, every refusal with its own message, and the engine's switch (a failed one changes nothing).
 */
import { readFileSync } from 'node:fs';
import { strToU8, Zip, ZipPassThrough, zipSync } from 'fflate';
import { describe, expect, test } from 'vitest';
import { readBundle } from '../../workers/engine/bundle';
import { sha256Hex } from '../../workers/engine/model';
import type { EngineError, Result } from '../../workers/api';
import { bundleFixture } from './bundle-fixture';
import { fileFromDisk, fileFromText, modelJson as shippedJson, readyEngine, root, SAMPLE, unwrap } from './helpers';

const fixture = bundleFixture(root);
const { names, manifest, golden } = fixture;
const bytesOf = (name: string) => new Uint8Array(readFileSync(`${fixture.dir}/${name}`));
const ONNX = manifest.onnx.file;
const N = manifest.features.length;

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
  const m = JSON.parse(fixture.manifestText) as Record<string, unknown>;
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
    expect(bundle.json.features).toEqual(manifest.features);
    expect(await sha256Hex(bundle.onnx)).toBe(manifest.onnx.sha256);
    expect(bundle.from).toBe(`model.json + ${names.length - 1} files`);
  });

  test('one zip of them', async () => {
    const bundle = await readBundle([zipOf(Object.fromEntries(names.map((n) => [n, bytesOf(n)])))]);
    expect(bundle.json.name).toBe(manifest.name);
    expect(bundle.from).toBe('synthetic.zip');
  });

  test('no model.json', async () => {
    const e = await refusal(bundleFiles({ 'model.json': null }));
    expect(e).toMatchObject({ code: 'bundle-invalid' });
    expect(e.message).toContain(`There is no model.json among the files given (${names.filter((n) => n !== 'model.json').join(', ')})`);
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
    const noOnnx = await refusal(bundleFiles({ [ONNX]: null }));
    expect(noOnnx.message).toContain(`The bundle has no ${ONNX}, which model.json lists as its ONNX model (onnx.file)`);
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
    const shown = names.slice(0, 3).map((n) => `synthetic/${n}`).join(', ') + (names.length > 3 ? ', …' : '');
    expect(nested.message).toContain(`“synthetic.zip” holds folders (${shown})`);
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
    const unloadable = await engine.useBundle(bundleFiles({ [ONNX]: garbage, 'model.json': withManifest((m) => { (m['onnx'] as { sha256: string }).sha256 = '0'.repeat(64); }) }), null);
    expect(failed(unloadable).code).toBe('model-hash-mismatch');
    const sha = await sha256Hex(garbage);
    const bad = await engine.useBundle(bundleFiles({ [ONNX]: garbage, 'model.json': withManifest((m) => { (m['onnx'] as { sha256: string }).sha256 = sha; }) }), null);
    expect(failed(bad)).toMatchObject({ code: 'model-invalid' });
    // Not a graph at all: refused when the page reads which sensors it uses, before onnxruntime is asked.
    expect(failed(bad).message).toContain(`The model file ${ONNX} could not be read`);
    // explain.json and reference.json name the full feature list (refused first, for that): leave them out here.
    const narrow = await engine.useBundle(
      bundleFiles({
        'model.json': withManifest((m) => {
          m['features'] = manifest.features.slice(0, N - 1);
          const files = (m['bundle'] as { files: Record<string, unknown> }).files;
          delete files['explain'];
          delete files['reference'];
        }),
      }),
      null,
    );
    expect(failed(narrow).message).toContain(`The model file ${ONNX} uses input column ${N - 1}, beyond the ${N - 1} features model.json lists.`);
  });

  /** golden.json changed, and model.json listing the changed file's sha256 (so only the golden check can object). */
  async function withGolden(edit: (g: { model_sha256: string; wafers: { probability: number; values: unknown[] }[] }) => void): Promise<File[]> {
    const g = JSON.parse(readFileSync(`${fixture.dir}/golden.json`, 'utf8')) as Parameters<typeof edit>[0];
    edit(g);
    const text = JSON.stringify(g);
    const sha = await sha256Hex(strToU8(text));
    return bundleFiles({ 'golden.json': text, 'model.json': withManifest((m) => { (m['bundle'] as typeof manifest.bundle).files['golden']!.sha256 = sha; }) });
  }

  test('a model that does not score its own golden.json as training did, or a golden.json of another model', async () => {
    const engine = await readyEngine();
    const off = failed(await engine.useBundle(await withGolden((g) => { g.wafers[3]!.probability += 0.01; }), null));
    expect(off).toMatchObject({ code: 'bundle-invalid' });
    expect(off.message).toContain(`The bundle’s model does not score its own golden.json as its training did: wafer ${golden.wafers[3]?.id} gets P(fail) `);
    const other = failed(await engine.useBundle(await withGolden((g) => { g.model_sha256 = 'ab'.repeat(32); }), null));
    expect(other.message).toContain('The bundle’s golden.json was written for another model file');
    const short = failed(await engine.useBundle(await withGolden((g) => { g.wafers[0]!.values.pop(); }), null));
    expect(short.message).toContain(`golden.json wafer 1 does not have ${N} values`);
    expect(unwrap(await engine.useBundle(await withGolden(() => undefined), null)).model.features).toEqual(manifest.features);
  });

  test('a failed switch keeps the model and the open file; a good one re-reads the file or closes it; back to the shipped model', async () => {
    const engine = await readyEngine();
    const sample = fileFromDisk(SAMPLE);
    unwrap(await engine.load(sample, shippedJson.threshold.value));
    const before = unwrap(await engine.window({ start: 0, count: 2, colStart: 0, colCount: 5, order: 'file' }));

    failed(await engine.useBundle(bundleFiles({ 'golden.json': null }), { file: sample, choices: {} }));
    const notFitting = failed(await engine.useBundle(bundleFiles(), { file: sample, choices: {} }));
    expect(notFitting.code).toBe('reload-failed');
    expect(notFitting.message.startsWith(`${manifest.name} ${manifest.version} was not switched to, because “wafer_23012020_041211.csv” cannot be read with it: `)).toBe(true);
    const after = unwrap(await engine.window({ start: 0, count: 2, colStart: 0, colCount: 5, order: 'file' }));
    expect(after.rows).toEqual(before.rows);
    expect(unwrap(await engine.summarize(0.5)).results?.rows).toBe(100);

    const switched = unwrap(await engine.useBundle(bundleFiles(), null));
    expect(switched.model.source).toEqual({ kind: 'bundle', from: `model.json + ${names.length - 1} files` });
    expect(switched.load).toBeNull();
    expect(failed(await engine.summarize(0.5)).code).toBe('no-file');

    const wafers = fileFromText(fixture.wafersCsv, 'synthetic-wafers.csv');
    const loaded = unwrap(await engine.load(wafers, switched.model.threshold.value));
    expect(loaded.summary.mapping.missingFeatures).toEqual([]);
    expect(loaded.summary.label).toMatchObject({ header: manifest.label.column_names[0], coding: 'declared' });
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
