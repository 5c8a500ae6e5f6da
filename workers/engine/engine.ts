/**
 * EngineApi over the pure modules: argument checks, the current model and session, the data version, and the
 * Result edge. Every method resolves to a Result; nothing throws across the boundary.
 */
import type {
  BatchFileResults,
  BatchInput,
  BatchLoadResult,
  CellEdit,
  DataState,
  DriftReport,
  EvaluationCurves,
  SensorDistribution,
  EditResult,
  EditsResult,
  EngineApi,
  ExportOptions,
  ExportResult,
  GridWindow,
  LoadChoices,
  LoadResult,
  ModelInfo,
  ModelSource,
  ModelSwitch,
  ModelUrls,
  PredictOptions,
  ProgressCallback,
  ReloadRequest,
  Result,
  WaferExplanation,
  WindowRequest,
} from '../api';
import type { ModelJson } from '../model-json';
import { batchResults, loadBatch } from './batch';
import { exportCombined, exportZip, NO_ADDED_COLUMNS, type AddedColumns } from './batch-export';
import { BUNDLE_ORIGIN, checkGolden, readBundle } from './bundle';
import { evaluationCurves, sortedByClass } from './curves';
import { DriftCounts, driftReport, sensorDistribution } from './drift';
import { CancelToken, EngineFailure, errResult, fail, ok } from './errors';
import { Explainer, validateExplainJson, type ExplainJson } from './explain';
import { exportCsv as runExport } from './export';
import { loadSession } from './load';
import { checkSha256, Model, SHIPPED_ORIGIN, validateModelJson, type ModelOrigin } from './model';
import { bundleEntry, parseReference, quantilesOf, type Reference } from './reference';
import type { ParsePool } from './pool';
import { ScoreIndex, warmUpResults } from './score-index';
import { applyEdits, resultsAt, scoreAll, setLowCoverageScoring, windowRows, type Session } from './session';
import { TOP_SENSORS_COLUMN } from './top-sensors';
import { explainWafer, pooledTopSensorsColumn, topSensorsColumn, type ExtraColumn } from './wafer-explain';

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
  /**
   * Create the model from bytes already in memory (same checks as init). `files` holds the bundle's other files
   * by role (e.g. { reference: bytes, explain: bytes }); a role model.json lists but `files` lacks is left out (no drift report, no explanations).
   */
  initFromBytes(modelJson: unknown, onnx: Uint8Array, files?: Record<string, Uint8Array>): Promise<Result<ModelInfo>>;
}

const ORDERS = new Set(['file', 'probability-desc', 'probability-asc', 'source-asc', 'source-desc']);

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
  if (req.source !== undefined && req.source !== null && !Number.isInteger(req.source)) fail('bad-request', 'window(): source must be a file index.');
}

function checkBatchInputs(inputs: BatchInput[]): void {
  if (!Array.isArray(inputs) || inputs.length === 0) fail('bad-request', 'loadBatch() needs at least one file.');
  for (const i of inputs) if (!(i.file instanceof Blob) || typeof i.name !== 'string') fail('bad-request', 'loadBatch(): each input needs a File and a name.');
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

/** A bundle file's bytes must be the ones model.json lists (docs/bundle.md), else the bundle is refused. */
/** The training out-of-fold scores by class, for the cost helper's training curve (once per model). */
const trainingScoresCache = new WeakMap<Model, { protocol: string; pos: Float64Array; neg: Float64Array } | null>();
function trainingScoresOf(m: Model): { protocol: string; pos: Float64Array; neg: Float64Array } | null {
  if (!trainingScoresCache.has(m)) {
    const oof = m.reference?.oof;
    trainingScoresCache.set(m, oof ? { protocol: oof.protocol, ...sortedByClass(oof.p, oof.y) } : null);
  }
  return trainingScoresCache.get(m) ?? null;
}

function parseModelJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    return fail('model-invalid', `The model description (model.json) is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** A model ready to score, with what the UI is told about it. */
interface ActiveModel {
  model: Model;
  info: ModelInfo;
  /** explain.json, checked; compiled into an Explainer on the first explanation, so the load does not pay for it. */
  explain: ExplainJson | null;
}

/** A bundle file's bytes by its name in model.json (null: not available, e.g. an older deployment without it). */
type BundleBytes = (file: string) => Promise<Uint8Array | null>;

/** A bundle file model.json lists under `role`, checked against its sha256; null when not listed or not available. */
async function bundleFileBytes(json: ModelJson, role: string, bytesOf: BundleBytes, origin: ModelOrigin): Promise<{ file: string; bytes: Uint8Array } | null> {
  const entry = bundleEntry(json, role);
  if (!entry) return null;
  const bytes = await bytesOf(entry.file);
  if (bytes === null) return null;
  await checkSha256(`The model file ${entry.file}`, bytes, entry.sha256, origin.mismatchAdvice);
  return { file: entry.file, bytes };
}

function parseBundleJson(bytes: Uint8Array, file: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    return fail('model-invalid', `The model file ${file} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function readReference(json: ModelJson, bytesOf: BundleBytes, origin: ModelOrigin): Promise<Reference | null> {
  const got = await bundleFileBytes(json, 'reference', bytesOf, origin);
  return got && parseReference(got.bytes, json.features);
}

async function readExplain(json: ModelJson, bytesOf: BundleBytes, origin: ModelOrigin): Promise<ExplainJson | null> {
  const got = await bundleFileBytes(json, 'explain', bytesOf, origin);
  return got && validateExplainJson(parseBundleJson(got.bytes, got.file), json.features);
}

/**
 * Check and describe the model, then wait for its onnxruntime session. `onDescribed` runs in between: from then on
 * the model can read files (scoring waits for Model.ready).
 */
async function buildModel(rawJson: unknown, onnx: Uint8Array, source: ModelSource, origin: ModelOrigin, bytesOf: BundleBytes, onDescribed?: (m: ActiveModel) => void): Promise<ActiveModel> {
  const json = validateModelJson(rawJson);
  const [reference, explain] = await Promise.all([readReference(json, bytesOf, origin), readExplain(json, bytesOf, origin)]);
  const m = await Model.describe(json, onnx, origin, reference);
  const info: ModelInfo = {
    ...json,
    modelSensors: m.usedFeatures.map((f) => json.features[f] as string),
    source,
    hasReference: reference !== null,
    explanations: explain !== null,
    quantiles: reference && quantilesOf(reference, json.features),
  };
  const described = { model: m, info, explain };
  onDescribed?.(described);
  await m.ready;
  warmUpResults();
  return described;
}

/** A reload against the model switched to failed: said as the switch's failure, with the file's own reason (a cancel stays a cancel). */
function reloadFailure(e: unknown, file: File, next: ModelInfo): never {
  if (!(e instanceof EngineFailure) || e.code === 'cancelled') throw e;
  return fail('reload-failed', `${next.name} ${next.version} was not switched to, because “${file.name}” cannot be read with it: ${e.message}`);
}

export function createEngine(options: EngineOptions = {}): Engine {
  let model: Model | null = null;
  /** The model init() loaded, kept for "back to the shipped model". */
  let shipped: ActiveModel | null = null;
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
  /** The download's top_sensors column: written ahead in the parse workers when they are up, here otherwise. */
  const topSensorsColumnOf = async (s: Session): Promise<ExtraColumn> => {
    const e = needExplainer();
    return options.pool && (await options.pool.ready()) ? pooledTopSensorsColumn(s, e, options.pool) : topSensorsColumn(s, e);
  };
  /** A download's options checked; the columns it adds after the results (top_sensors when asked for). */
  const addedColumns = (opts: ExportOptions, call: string): AddedColumns => {
    checkThreshold(opts.threshold);
    if (opts.topSensors !== undefined && typeof opts.topSensors !== 'boolean') fail('bad-request', `${call}(): topSensors must be true or false.`);
    if (!opts.topSensors) return NO_ADDED_COLUMNS;
    needExplainer();
    return { names: [TOP_SENSORS_COLUMN], of: async (s) => [await topSensorsColumnOf(s)] };
  };
  const dataState = (s: Session, threshold: number): DataState => ({ version, results: resultsAt(s, threshold) });

  /**
   * The model reads files as soon as it describes itself (`onModel`); init answers once it can also score. A load
   * in between reads the whole file and scores it when the session is ready (Model.ready).
   */
  async function createModel(rawJson: unknown, onnx: Uint8Array, bytesOf: BundleBytes, onModel?: (info: ModelInfo) => void): Promise<ModelInfo> {
    let described: Model | null = null;
    try {
      shipped = await buildModel(rawJson, onnx, { kind: 'shipped' }, SHIPPED_ORIGIN, bytesOf, (next) => {
        described = next.model;
        useModel(next);
        session = null;
        onModel?.(next.info);
      });
    } catch (e) {
      if (described !== null && model === described) model = null;
      throw e;
    }
    return shipped.info;
  }

  function useModel(next: ActiveModel): void {
    model = next.model;
    explainJson = next.explain;
    explainer = null;
  }

  /** Make `next` the model, with the file read against it (or no file); nothing changes unless the read succeeds. */
  async function switchModel(next: ActiveModel, reload: ReloadRequest | null, token: CancelToken, onProgress?: ProgressCallback): Promise<ModelSwitch> {
    const threshold = next.info.threshold.value;
    let nextSession: Session | null = null;
    if (reload !== null) {
      if (!(reload.file instanceof Blob)) fail('bad-request', 'A model switch needs the open File to read again.');
      checkChoices(reload.choices);
      const fileName = (reload.file as Partial<File>).name ?? 'wafers.csv';
      const loadOptions = { fileName, token, onProgress, sliceSize: options.sliceSize, pool: options.pool, choices: reload.choices };
      nextSession = await loadSession(reload.file, next.model, loadOptions).catch((e: unknown) => reloadFailure(e, reload.file, next.info));
    }
    useModel(next);
    session = nextSession;
    version++;
    return { model: next.info, load: nextSession ? { summary: nextSession.summary, ...dataState(nextSession, threshold) } : null };
  }

  const needReference = (m: Model): Reference => m.reference ?? fail('no-reference', 'The model bundle has no training reference (reference.json), so the file cannot be compared with the training data.');

  /** The session's drift counts, built by one pass over its readings on first use. */
  function driftCountsOf(s: Session, ref: Reference): DriftCounts {
    s.driftCounts ??= DriftCounts.build(ref, s.matrix, s.rows, s.nFeatures);
    return s.driftCounts;
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
    init(urls: ModelUrls, onModel?: (info: ModelInfo) => void) {
      return guarded(async () => {
        const json = validateModelJson(parseModelJson(await fetchBytes(fetchFn, urls.modelJson, 'model description (model.json)')));
        options.pool?.warm(); // the parse workers load while the model downloads
        const dir = urls.modelDir.endsWith('/') ? urls.modelDir : `${urls.modelDir}/`;
        const urlOf = (file: string) => bundleFileUrl(file, new URL(dir, urls.modelJson).href);
        const onnx = await fetchBytes(fetchFn, urlOf(json.onnx.file), `model file (${json.onnx.file})`);
        return createModel(json, onnx, (file) => fetchBytes(fetchFn, urlOf(file), `bundle file (${file})`), onModel);
      });
    },

    useBundle(files: File[], reload: ReloadRequest | null, onProgress?: ProgressCallback) {
      return guarded(async (token) => {
        if (!Array.isArray(files) || !files.every((f) => f instanceof Blob)) fail('bad-request', 'useBundle() needs the bundle’s Files.');
        const bundle = await readBundle(files);
        token.throwIfCancelled();
        const bytesOf = async (file: string) => bundle.files.get(file) ?? null;
        const next = await buildModel(bundle.json, bundle.onnx, { kind: 'bundle', from: bundle.from }, BUNDLE_ORIGIN, bytesOf);
        await checkGolden(next.model, next.info, bundle.golden);
        return switchModel(next, reload, token, onProgress);
      });
    },

    useShippedModel(reload: ReloadRequest | null, onProgress?: ProgressCallback) {
      const unavailable = (): never => fail('model-not-ready', 'The shipped model is not available: it could not be loaded when the page started (reload the page to try again).');
      return guarded(async (token) => switchModel(shipped ?? unavailable(), reload, token, onProgress));
    },

    initFromBytes(modelJson: unknown, onnx: Uint8Array, files: Record<string, Uint8Array> = {}) {
      return guarded(async () => {
        const json = typeof modelJson === 'string' ? (JSON.parse(modelJson) as unknown) : modelJson;
        // `files` is by role; model.json names each role's file.
        const byFile = new Map(Object.entries(files).map(([role, bytes]) => [bundleEntry(validateModelJson(json), role)?.file, bytes]));
        return createModel(json, onnx, async (file) => byFile.get(file) ?? null);
      });
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

    setCells(edits: CellEdit[], threshold: number): Promise<Result<EditsResult>> {
      return guarded(async () => {
        const { updates, state } = await edit(edits, threshold, 'setCells');
        return { ...state, updates };
      });
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

    drift(): Promise<Result<DriftReport>> {
      return guarded(async () => {
        const s = needSession();
        const m = needModel();
        const ref = needReference(m);
        return driftReport(ref, driftCountsOf(s, ref), m.json.features, m.usedFeatures);
      });
    },

    driftDistribution(sensor: string): Promise<Result<SensorDistribution>> {
      return guarded(async () => {
        const s = needSession();
        const m = needModel();
        const ref = needReference(m);
        const f = m.json.features.indexOf(sensor);
        if (f < 0) fail('bad-request', `driftDistribution(): ${String(sensor)} is not one of the model's sensors.`);
        return sensorDistribution(ref, driftCountsOf(s, ref), f, sensor);
      });
    },

    curves(): Promise<Result<EvaluationCurves | null>> {
      return guarded(async () => {
        const s = needSession();
        const labelled = s.summary.label !== null && s.summary.label.coding !== 'unresolved';
        if (!labelled || !s.predicted) return null;
        s.scoreIndex ??= ScoreIndex.build(s.probabilities, s.labels);
        const { pos, neg } = s.scoreIndex.classScores();
        if (pos.length + neg.length === 0) return null;
        return evaluationCurves(pos, neg, trainingScoresOf(needModel()));
      });
    },

    async ping(): Promise<true> {
      return true;
    },

    exportCsv(opts: ExportOptions, onProgress?: ProgressCallback): Promise<Result<ExportResult>> {
      return guarded(async (token) => {
        const s = needSession();
        const added = addedColumns(opts, 'exportCsv');
        const run = { token, onProgress, sliceSize: options.sliceSize };
        return s.batch ? exportCombined(s, opts, run, added) : runExport(s, opts, run, await added.of(s));
      });
    },

    loadBatch(inputs: BatchInput[], threshold: number, onProgress?: ProgressCallback, choices: LoadChoices = {}): Promise<Result<BatchLoadResult>> {
      return guarded(async (token) => {
        const m = needModel();
        checkThreshold(threshold);
        checkChoices(choices);
        checkBatchInputs(inputs);
        const next = await loadBatch(inputs, m, { token, onProgress, sliceSize: options.sliceSize, pool: options.pool, choices });
        session = next.session; // swap in only on success
        version++;
        return { summary: next.session.summary, batch: next.report, ...dataState(next.session, threshold) };
      });
    },

    batchResults(threshold: number): Promise<Result<BatchFileResults[]>> {
      return guarded(async () => {
        const s = needSession();
        checkThreshold(threshold);
        return batchResults(s, threshold);
      });
    },

    exportZip(opts: ExportOptions, onProgress?: ProgressCallback): Promise<Result<ExportResult>> {
      return guarded(async (token) => {
        const s = needSession();
        const added = addedColumns(opts, 'exportZip');
        if (!s.batch) fail('no-file', 'A zip of predictions is made for a batch of files; this is one file.');
        return exportZip(s, opts, { token, onProgress, sliceSize: options.sliceSize }, added);
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
