/**
 * Reading a model bundle the user gives (docs/bundle.md, format 2): the folder's files, or one .zip of them.
 * model.json is read first, then each file it lists; every listed file's sha256 is checked against it. Each refusal
 * names what is wrong (which key, which file, which digest), so the user can fix that bundle; nothing else is
 * assumed about the bundle than the contract promises.
 */
import { unzipSync } from 'fflate';
import type { ModelJson } from '../model-json';
import { fail } from './errors';
import { checkSha256, validateModelJson, type Model, type ModelOrigin } from './model';

export const BUNDLE_FORMAT = 2;

export const BUNDLE_ORIGIN: ModelOrigin = {
  mismatchAdvice: 'The bundle is damaged or its files come from different trainings: take all of them from the same training run.',
};

/** A bundle as read: its model.json (checked), the ONNX bytes (hash not yet checked: Model.create does that) and where it came from. */
export interface BundleContents {
  json: ModelJson;
  onnx: Uint8Array;
  /** golden.json's bytes (hash checked), for checkGolden once the model is built. */
  golden: Uint8Array;
  /** "synthetic.zip", or "model.json + 3 files". */
  from: string;
  /** Every file bundle.files lists, by its file name (hash checked). */
  files: Map<string, Uint8Array>;
}

/** One file of the bundle, by its plain name; read only when needed. */
interface Entry {
  name: string;
  read: () => Promise<Uint8Array>;
}

interface ListedFile {
  file: string;
  sha256: string;
}

const HOW_TO_GIVE = 'Give every file of the bundle’s folder together (model.json, the .onnx file, golden.json, …) or one .zip of them.';

function bad(message: string): never {
  return fail('bundle-invalid', message);
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isZip(file: File, head: Uint8Array): boolean {
  return /\.zip$/i.test(file.name) || (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04);
}

async function fileBytes(file: File): Promise<Uint8Array> {
  try {
    return new Uint8Array(await file.arrayBuffer());
  } catch (e) {
    return bad(`“${file.name}” could not be read (${e instanceof Error ? e.message : String(e)}); a folder cannot be given as such. ${HOW_TO_GIVE}`);
  }
}

function noDuplicates(names: string[], where: string): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) bad(`${where} holds two files named ${n}: a bundle has one of each file. ${HOW_TO_GIVE}`);
    seen.add(n);
  }
}

/** A zip's files: only at its top level, each name once (a bundle is one folder's files). */
function zipEntries(zip: File, bytes: Uint8Array): Entry[] {
  const names: string[] = [];
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, {
      filter: (f) => {
        names.push(f.name);
        return !f.name.endsWith('/');
      },
    });
  } catch (e) {
    return bad(`“${zip.name}” is not a readable zip archive (${e instanceof Error ? e.message : String(e)}). ${HOW_TO_GIVE}`);
  }
  const nested = names.filter((n) => n.includes('/') || n.includes('\\'));
  if (nested.length > 0) {
    const shown = nested.slice(0, 3).join(', ') + (nested.length > 3 ? ', …' : '');
    bad(`“${zip.name}” holds folders (${shown}): a bundle zip holds the bundle’s files at its top level. Zip the files themselves, not the folder they are in.`);
  }
  noDuplicates(names, `“${zip.name}”`);
  return names.map((name) => ({ name, read: async () => files[name] as Uint8Array }));
}

/** The given files as bundle entries: the files themselves, or the entries of the one zip among them. */
async function entriesOf(files: File[]): Promise<{ entries: Entry[]; from: string }> {
  if (files.length === 0) bad(`No files were given. ${HOW_TO_GIVE}`);
  const heads = await Promise.all(files.map(async (f) => new Uint8Array(await f.slice(0, 4).arrayBuffer().catch(() => new ArrayBuffer(0)))));
  const zips = files.filter((f, i) => isZip(f, heads[i] as Uint8Array));
  if (zips.length > 0 && files.length > 1) {
    bad(`${zips.map((z) => `“${z.name}”`).join(' and ')} ${zips.length === 1 ? 'is a zip' : 'are zips'} given with other files: give either the bundle’s files or one .zip of them.`);
  }
  const zip = zips[0];
  if (zip) return { entries: zipEntries(zip, await fileBytes(zip)), from: zip.name };
  noDuplicates(
    files.map((f) => f.name),
    'The files given',
  );
  return { entries: files.map((f) => ({ name: f.name, read: () => fileBytes(f) })), from: files.length === 1 ? (files[0] as File).name : `model.json + ${files.length - 1} files` };
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    return bad(`The bundle’s model.json is not valid JSON (${e instanceof Error ? e.message : String(e)}).`);
  }
}

/** The bundle section says format 2; an older model.json (no section) or a newer format is refused by name. */
function checkFormat(raw: Record<string, unknown>): Record<string, unknown> {
  const section = raw['bundle'];
  if (!isObj(section)) {
    return fail(
      'bundle-unsupported',
      `The bundle’s model.json has no "bundle" section, so it is not a bundle of format ${BUNDLE_FORMAT}, the format this page reads. Export it again with the current training pipeline (npm run train -- --data FILE --out DIR).`,
    );
  }
  if (section['format'] !== BUNDLE_FORMAT) {
    fail('bundle-unsupported', `The bundle is of format ${JSON.stringify(section['format'] ?? null)}; this page reads bundles of format ${BUNDLE_FORMAT} only.`);
  }
  return section;
}

/** A listed file's name must be a plain name in the bundle's folder. */
function plainName(name: unknown, key: string): string {
  if (typeof name !== 'string' || name === '' || name.includes('/') || name.includes('\\') || name === '.' || name === '..') {
    bad(`The bundle’s model.json lists ${key} as ${JSON.stringify(name ?? null)}: a bundle file is a plain name in the same folder as model.json (no “/”, no “..”).`);
  }
  return name as string;
}

/** bundle.files: every entry with a plain file name and a sha256 hex digest. */
function listedFiles(section: Record<string, unknown>): Map<string, ListedFile> {
  const files = section['files'];
  if (!isObj(files)) bad('The bundle’s model.json has no "bundle.files" (the list of its files with their sha256).');
  const out = new Map<string, ListedFile>();
  for (const [key, value] of Object.entries(files as Record<string, unknown>)) {
    if (!isObj(value)) bad(`The bundle’s model.json lists bundle.files.${key} without a file name and sha256.`);
    const v = value as Record<string, unknown>;
    const file = plainName(v['file'], `bundle.files.${key}.file`);
    const sha256 = v['sha256'];
    if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(sha256)) bad(`The bundle’s model.json gives bundle.files.${key}.sha256 as ${JSON.stringify(sha256 ?? null)}, which is not a sha256 hex digest.`);
    out.set(key, { file, sha256: sha256 as string });
  }
  if (!out.has('golden')) bad('The bundle’s model.json lists no bundle.files.golden: every bundle carries its golden.json (the rows its training scored).');
  return out;
}

function entry(entries: Entry[], name: string, what: string): Entry {
  const found = entries.find((e) => e.name === name);
  if (!found) {
    const given = entries.map((e) => e.name).join(', ');
    bad(`The bundle has no ${name}, which model.json lists as ${what}: it is not among the files given (${given}). ${HOW_TO_GIVE}`);
  }
  return found as Entry;
}

/** Read and check a bundle: model.json first (JSON, keys, format, file list), then each listed file and its sha256. */
export async function readBundle(files: File[]): Promise<BundleContents> {
  const { entries, from } = await entriesOf(files);
  const manifest = entries.find((e) => e.name === 'model.json');
  if (!manifest) bad(`There is no model.json among the files given (${entries.map((e) => e.name).join(', ') || 'none'}). ${HOW_TO_GIVE}`);
  const raw = parseJson(await (manifest as Entry).read());
  if (!isObj(raw)) bad('The bundle’s model.json is not a JSON object.');
  const r = raw as Record<string, unknown>;
  // A bundle of another format may have other keys: say that first rather than list them as missing.
  if (isObj(r['bundle'])) checkFormat(r);
  const json = validateModelJson(r);
  const listed = listedFiles(checkFormat(r));
  plainName(json.onnx.file, 'onnx.file');
  const onnx = await entry(entries, json.onnx.file, 'its ONNX model (onnx.file)').read();
  const read = new Map<string, Uint8Array>();
  const byName = new Map<string, Uint8Array>();
  for (const [key, f] of listed) {
    const bytes = await entry(entries, f.file, `bundle.files.${key}`).read();
    await checkSha256(`The bundle file ${f.file}`, bytes, f.sha256, BUNDLE_ORIGIN.mismatchAdvice);
    read.set(key, bytes);
    byName.set(f.file, bytes);
  }
  return { json, onnx, golden: read.get('golden') as Uint8Array, from, files: byName };
}

/** Golden rows may differ from this page's scores by float32 rounding only (training checks parity at 1e-5). */
export const GOLDEN_TOLERANCE = 1e-4;

interface GoldenWafer {
  id?: unknown;
  values: (number | null)[];
  probability: number;
}

function goldenWafers(golden: Uint8Array, json: ModelJson): GoldenWafer[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(golden));
  } catch (e) {
    return bad(`The bundle’s golden.json is not valid JSON (${e instanceof Error ? e.message : String(e)}).`);
  }
  if (!isObj(parsed) || !Array.isArray(parsed['wafers']) || parsed['wafers'].length === 0) bad('The bundle’s golden.json has no "wafers" list to check the model against.');
  const sha = (parsed as Record<string, unknown>)['model_sha256'];
  if (typeof sha === 'string' && sha.toLowerCase() !== json.onnx.sha256.toLowerCase()) {
    bad(`The bundle’s golden.json was written for another model file (model_sha256 ${sha}, but onnx.sha256 is ${json.onnx.sha256}): take all the files from the same training run.`);
  }
  const wafers = (parsed as { wafers: unknown[] }).wafers;
  wafers.forEach((w, i) => {
    const ok = isObj(w) && Array.isArray(w['values']) && w['values'].length === json.features.length && w['values'].every((v) => v === null || typeof v === 'number') && typeof w['probability'] === 'number';
    if (!ok) bad(`The bundle’s golden.json wafer ${i + 1} does not have ${json.features.length} values (one per feature, null = missing) and a probability.`);
  });
  return wafers as GoldenWafer[];
}

/**
 * The model as this page runs it must score golden.json's wafers as training did: a graph that loads but computes
 * something else (another runtime's semantics, a mangled export) is refused before any file is scored with it.
 */
export async function checkGolden(model: Model, json: ModelJson, golden: Uint8Array): Promise<void> {
  const wafers = goldenWafers(golden, json);
  const nF = json.features.length;
  const matrix = new Float32Array(wafers.length * nF);
  wafers.forEach((w, r) => w.values.forEach((v, c) => (matrix[r * nF + c] = v === null ? Number.NaN : v)));
  const scored = await model.score(matrix, wafers.length);
  const worst = wafers.reduce((at, w, i) => (Math.abs((scored[i] as number) - w.probability) > Math.abs((scored[at] as number) - (wafers[at] as GoldenWafer).probability) ? i : at), 0);
  const diff = Math.abs((scored[worst] as number) - (wafers[worst] as GoldenWafer).probability);
  if (!(diff <= GOLDEN_TOLERANCE)) {
    const id = (wafers[worst] as GoldenWafer).id;
    bad(
      `The bundle’s model does not score its own golden.json as its training did: wafer ${typeof id === 'string' ? id : worst + 1} gets P(fail) ${(scored[worst] as number).toFixed(6)} here, golden.json says ${(wafers[worst] as GoldenWafer).probability.toFixed(6)} (tolerance ${GOLDEN_TOLERANCE}). The ONNX export or the bundle is broken.`,
    );
  }
}
