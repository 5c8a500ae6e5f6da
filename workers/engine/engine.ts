/**
 * EngineApi over the pure modules: argument checks, the current model and session, the data version, and the
 * Result edge. Every method resolves to a Result; nothing throws across the boundary.
 */
import type {
  CellEdit,
  DataState,
  EditResult,
  EngineApi,
  ExportOptions,
  ExportResult,
  GridWindow,
  LoadChoices,
  LoadResult,
  ModelInfo,
  ModelUrls,
  PredictOptions,
  ProgressCallback,
  Result,
  WaferExplanation,
  WindowRequest,
} from '../api';
import type { BundleFile, ModelJson } from '../model-json';
import { CancelToken, errResult, fail, ok } from './errors';
import { exportCsv as runExport } from './export';
import { loadSession } from './load';
import { Explainer, validateExplainJson, type ExplainJson } from './explain';
import { Model, sha256Hex, validateModelJson } from './model';
import type { ParsePool } from './pool';
import { warmUpResults } from './score-index';
import { quantilesFromReference } from './reference';
import { applyEdits, resultsAt, scoreAll, setLowCoverageScoring, windowRows, type Session } from './session';
import { explainWafer, topSensorsColumn } from './wafer-explain';

export interface EngineOptions {
  /** Replaces global fetch (tests load the model from disk). */
  fetch?: (url: string) => Promise<Response>;
  /** Bytes per read slice (tests use tiny slices). */
  sliceSize?: number;
  /** Parse workers for load() (the browser engine worker makes one); without it loads run in this thread. */
  pool?: ParsePool;
}

/** The engine plus a few non-API helpers used by tests and benchmarks. */
export interface Engine extends EngineApi {
  /** Create the model from bytes already in memory (same checks as init); `files`: the bundle's other files by role. */
  initFromBytes(modelJson: unknown, onnx: Uint8Array, files?: BundleBytes): Promise<Result<ModelInfo>>;
}

const ORDERS = new Set(['file', 'probability-desc', 'probability-asc']);

function checkThreshold(threshold: number): void {
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) fail('bad-request', `Threshold ${String(threshold)} is not in [0, 1].`);
}

function checkChoices(c: LoadChoices): void {
  if (typeof c !== 'object' || c === null) fail('bad-request', 'load(): choices must be an object.');
  if (c.numberFormat !== undefined && c.numberFormat !== 'point' && c.numberFormat !== 'comma') fail('bad-request', `load(): unknown number format ${String(c.numberFormat)}.`);
  if (c.failValue !== undefined && (typeof c.failValue !== 'string' || c.failValue.trim() === '')) fail('bad-request', 'load(): failValue must be a label value.');
}

function checkWindowRequest(req: WindowRequest): void {
  const ints = [req.start, req.count, req.colStart, req.colCount];
  if (!ints.every((v) => Number.isInteger(v) && v >= 0)) fail('bad-request', 'window(): start, count, colStart and colCount must be non-negative integers.');
  if (!ORDERS.has(req.order)) fail('bad-request', `window(): unknown order ${String(req.order)}.`);
}

function checkEdit(s: Session, e: CellEdit, call: string): void {
  const { row, col, text } = e;
  if (!Number.isInteger(row) || row < 0 || row >= s.rows) fail('bad-request', `${call}(): row ${row} is out of range (0 … ${s.rows - 1}).`);
  if (!Number.isInteger(col) || col < 0 || col >= s.header.length) fail('bad-request', `${call}(): column ${col} is out of range (0 … ${s.header.length - 1}).`);
  if (typeof text !== 'string') fail('bad-request', `${call}(): text must be a string.`);
}

/** A bundle file's URL: a plain name in the folder of model.json (no sub-folders, no way out of it). */
function bundleFileUrl(file: string, dirUrl: string): string {
  if (file === '' || file.includes('/') || file.includes('\\') || file === '..' || file === '.') fail('model-invalid', `The model bundle names a file "${file}" outside its folder.`);
  return new URL(file, dirUrl).href;
}

async function fetchBytes(fetchFn: (url: string) => Promise<Response>, url: string, what: string): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetchFn(url);
  } catch (e) {
    return fail('model-fetch-failed', `Could not download the ${what} (${e instanceof Error ? e.message : String(e)}). Check your connection and reload the page.`);
  }
  if (!res.ok) fail('model-fetch-failed', `Could not download the ${what}: the server answered ${res.status} ${res.statusText} for ${url}.`);
  return new Uint8Array(await res.arrayBuffer());
}

function parseModelJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    return fail('model-invalid', `The model description (model.json) is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The bundle's optional files, as bytes (each is checked against its sha256 in model.json). */
export interface BundleBytes {
  explain?: Uint8Array;
  reference?: Uint8Array;
}

/** A bundle file's bytes, checked against model.json; refuses the bundle when they differ. */
async function checkedBundleFile(entry: BundleFile, bytes: Uint8Array): Promise<Uint8Array> {
  const actual = await sha256Hex(bytes);
  if (actual !== entry.sha256.toLowerCase()) {
    fail('model-hash-mismatch', `The model file ${entry.file} does not match its description: sha256 is ${actual}, model.json expects ${entry.sha256}. The deployment is inconsistent; reload the page, and if it persists, report it.`);
  }
  return bytes;
}

function parseBundleJson(bytes: Uint8Array, file: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    return fail('model-invalid', `The model file ${file} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * The explanation trees (checked, not yet compiled: that waits for the first explanation, so the page's load does
 * not pay for it) and reference quantiles of a bundle, from the files model.json lists (absent: none).
 */
async function bundleExtras(json: ModelJson, files: BundleBytes): Promise<{ explain: ExplainJson | null; quantiles: ModelInfo['quantiles'] }> {
  const listed = json.bundle?.files ?? {};
  let explain: ExplainJson | null = null;
  let quantiles: ModelInfo['quantiles'] = null;
  if (listed.explain) {
    if (!files.explain) fail('model-fetch-failed', `The model bundle lists ${listed.explain.file} but it was not found.`);
    const bytes = await checkedBundleFile(listed.explain, files.explain as Uint8Array);
    explain = validateExplainJson(parseBundleJson(bytes, listed.explain.file), json.features);
  }
  if (listed.reference && files.reference) {
    const bytes = await checkedBundleFile(listed.reference, files.reference);
    quantiles = quantilesFromReference(parseBundleJson(bytes, listed.reference.file), json.features);
  }
  return { explain, quantiles };
}

export function createEngine(options: EngineOptions = {}): Engine {
  let model: Model | null = null;
  let explainJson: ExplainJson | null = null;
  let explainer: Explainer | null = null;
  let session: Session | null = null;
  /** Bumped whenever a row's content, probability or order may change (see DataState.version). */
  let version = 0;
  const active = new Set<CancelToken>();
  const fetchFn = options.fetch ?? ((url: string) => fetch(url));

  async function guarded<T>(fn: (token: CancelToken) => Promise<T>): Promise<Result<T>> {
    const token = new CancelToken();
    active.add(token);
    try {
      return ok(await fn(token));
    } catch (e) {
      return errResult<T>(e);
    } finally {
      active.delete(token);
    }
  }

  const needModel = (): Model => model ?? fail('model-not-ready', 'The model is not loaded yet.');
  const needSession = (): Session => session ?? fail('no-file', 'No file is loaded.');
  const needExplainer = (): Explainer => {
    if (!explainJson) return fail('no-explanations', 'This model bundle has no explain.json, so its predictions cannot be explained.');
    explainer ??= Explainer.fromValidJson(explainJson, explainJson.features.length);
    return explainer;
  };
  const dataState = (s: Session, threshold: number): DataState => ({ version, results: resultsAt(s, threshold) });

  async function createModel(rawJson: unknown, onnx: Uint8Array, files: BundleBytes = {}): Promise<ModelInfo> {
    const json = validateModelJson(rawJson);
    const m = await Model.create(json, onnx);
    const extras = await bundleExtras(json, files);
    await m.warmUp();
    warmUpResults();
    model = m;
    explainJson = extras.explain;
    explainer = null;
    return { ...json, modelSensors: m.usedFeatures.map((f) => json.features[f] as string), explanations: explainJson !== null, quantiles: extras.quantiles };
  }

  /** The bundle's optional files model.json lists, fetched next to it (at the same time as the ONNX file). */
  async function fetchBundleFiles(json: ModelJson, dirUrl: string): Promise<BundleBytes> {
    const listed = json.bundle?.files ?? {};
    const get = (entry: BundleFile | undefined, what: string) => (entry ? fetchBytes(fetchFn, bundleFileUrl(entry.file, dirUrl), what) : Promise.resolve(undefined));
    const [explain, reference] = await Promise.all([get(listed.explain, `explanation file (${listed.explain?.file})`), get(listed.reference, `reference file (${listed.reference?.file})`)]);
    return { ...(explain ? { explain } : {}), ...(reference ? { reference } : {}) };
  }

  async function edit(edits: CellEdit[], threshold: number, call: string) {
    const s = needSession();
    const m = needModel();
    checkThreshold(threshold);
    if (!Array.isArray(edits)) fail('bad-request', `${call}(): edits must be an array.`);
    for (const e of edits) checkEdit(s, e, call);
    const updates = await applyEdits(s, m, edits);
    if (updates.length > 0) version++;
    return { updates, state: dataState(s, threshold) };
  }

  const engine: Engine = {
    init(urls: ModelUrls) {
      return guarded(async () => {
        const json = validateModelJson(parseModelJson(await fetchBytes(fetchFn, urls.modelJson, 'model description (model.json)')));
        options.pool?.warm(); // the parse workers load while the model downloads
        const dir = urls.modelDir.endsWith('/') ? urls.modelDir : `${urls.modelDir}/`;
        const dirUrl = new URL(dir, urls.modelJson).href;
        const onnxUrl = new URL(json.onnx.file, dirUrl).href;
        const [onnx, files] = await Promise.all([fetchBytes(fetchFn, onnxUrl, `model file (${json.onnx.file})`), fetchBundleFiles(json, dirUrl)]);
        return createModel(json, onnx, files);
      });
    },

    initFromBytes(modelJson: unknown, onnx: Uint8Array, files?: BundleBytes) {
      return guarded(async () => createModel(typeof modelJson === 'string' ? (JSON.parse(modelJson) as unknown) : modelJson, onnx, files));
    },

    load(file: File, threshold: number, onProgress?: ProgressCallback, choices: LoadChoices = {}): Promise<Result<LoadResult>> {
      return guarded(async (token) => {
        const m = needModel();
        checkThreshold(threshold);
        checkChoices(choices);
        if (!(file instanceof Blob)) fail('bad-request', 'load() needs a File.');
        const name = (file as Partial<File>).name ?? 'wafers.csv';
        const next = await loadSession(file, m, { fileName: name, token, onProgress, sliceSize: options.sliceSize, pool: options.pool, choices });
        session = next; // swap in only on success
        version++;
        // Compile the explanation tables now, between this answer and the user's first click, not on that click.
        if (explainJson && !explainer) setTimeout(() => needExplainer(), 0);
        return { summary: next.summary, ...dataState(next, threshold) };
      });
    },

    async cancel() {
      for (const t of active) t.cancelled = true;
    },

    predict(opts: PredictOptions, onProgress?: ProgressCallback): Promise<Result<DataState>> {
      return guarded(async (token) => {
        const m = needModel();
        const s = needSession();
        checkThreshold(opts.threshold);
        if (s.map.mapping.needsConsent && !opts.acceptMappingIssues) {
          fail('mapping-not-accepted', 'Some sensor columns are missing or duplicated; confirm that they may be treated as missing readings before predicting.');
        }
        if (!s.predicted) {
          await scoreAll(s, m, (done) => {
            onProgress?.({ phase: 'predict', done, total: s.rows });
            token.throwIfCancelled();
          });
          token.throwIfCancelled();
          version++;
        }
        onProgress?.({ phase: 'predict', done: s.rows, total: s.rows });
        return dataState(s, opts.threshold);
      });
    },

    summarize(threshold: number) {
      return guarded(async () => {
        const s = needSession();
        checkThreshold(threshold);
        return dataState(s, threshold);
      });
    },

    window(req: WindowRequest): Promise<Result<GridWindow>> {
      return guarded(async () => {
        const s = needSession();
        checkWindowRequest(req);
        // The version the rows are read at: an edit arriving meanwhile makes this window stale, not wrong.
        const readAt = version;
        return { ...(await windowRows(s, req)), version: readAt };
      });
    },

    setCell(e: CellEdit, threshold: number): Promise<Result<EditResult>> {
      return guarded(async () => {
        const { updates, state } = await edit([e], threshold, 'setCell');
        return { update: updates[0] as EditResult['update'], ...state };
      });
    },

    setCells(edits: CellEdit[], threshold: number): Promise<Result<DataState>> {
      return guarded(async () => (await edit(edits, threshold, 'setCells')).state);
    },

    scoreLowCoverage(include: boolean, threshold: number): Promise<Result<DataState>> {
      return guarded(async () => {
        const s = needSession();
        const m = needModel();
        checkThreshold(threshold);
        if (typeof include !== 'boolean') fail('bad-request', 'scoreLowCoverage(): include must be true or false.');
        if (await setLowCoverageScoring(s, m, include)) version++;
        return dataState(s, threshold);
      });
    },

    async ping(): Promise<true> {
      return true;
    },

    exportCsv(opts: ExportOptions, onProgress?: ProgressCallback): Promise<Result<ExportResult>> {
      return guarded(async (token) => {
        const s = needSession();
        checkThreshold(opts.threshold);
        if (opts.topSensors !== undefined && typeof opts.topSensors !== 'boolean') fail('bad-request', 'exportCsv(): topSensors must be true or false.');
        const added = opts.topSensors ? [topSensorsColumn(s, needExplainer())] : [];
        return runExport(s, opts, { token, onProgress, sliceSize: options.sliceSize }, added);
      });
    },

    explain(row: number): Promise<Result<WaferExplanation>> {
      return guarded(async () => {
        const s = needSession();
        const e = needExplainer();
        if (!Number.isInteger(row) || row < 0 || row >= s.rows) fail('bad-request', `explain(): row ${row} is out of range (0 … ${s.rows - 1}).`);
        return explainWafer(s, e, row);
      });
    },
  };
  return engine;
}
