/** EngineApi over the pure modules. Every method resolves to a Result; nothing throws across the boundary. */
import type {
  CellUpdate,
  EngineApi,
  ExportOptions,
  ExportResult,
  GridWindow,
  LoadSummary,
  ModelUrls,
  PredictOptions,
  ProgressCallback,
  Result,
  ResultsSummary,
  WindowRequest,
  WindowRow,
} from '../api';
import type { ModelJson } from '../model-json';
import { CancelToken, errResult, fail, ok } from './errors';
import { exportCsv as runExport } from './export';
import { countFlagged, evaluate, histogram, warmUpMetrics } from './metrics';
import { Model, validateModelJson } from './model';
import type { ParsePool } from './pool';
import { loadSession, orderPermutation, readRowFields, type Session } from './session';
import { CellKind, cellIssueText, classifyCell, makeLabelReader, type CellOut } from './validate';

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
  /** Create the model from bytes already in memory (same checks as init). */
  initFromBytes(modelJson: unknown, onnx: Uint8Array): Promise<Result<ModelJson>>;
}

function isProbability(x: number): boolean {
  return typeof x === 'number' && x >= 0 && x <= 1;
}

export function createEngine(options: EngineOptions = {}): Engine {
  let model: Model | null = null;
  let session: Session | null = null;
  /** The data version: bumped whenever rows' content, probabilities or order may change. */
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

  function summarizeSession(s: Session, threshold: number): ResultsSummary {
    if (!isProbability(threshold)) fail('bad-request', `Threshold ${threshold} is not in [0, 1].`);
    const { scored, flagged } = countFlagged(s.probabilities, threshold);
    return {
      rows: s.rows,
      scored,
      threshold,
      flagged,
      histogram: histogram(s.probabilities),
      evaluation: s.map.labelColumn !== null && scored > 0 ? evaluate(s.probabilities, s.labels, threshold) : null,
    };
  }

  async function fetchBytes(url: string, what: string): Promise<Uint8Array> {
    let res: Response;
    try {
      res = await fetchFn(url);
    } catch (e) {
      return fail('model-fetch-failed', `Could not download the ${what} (${e instanceof Error ? e.message : String(e)}). Check your connection and reload the page.`);
    }
    if (!res.ok) fail('model-fetch-failed', `Could not download the ${what}: the server answered ${res.status} ${res.statusText} for ${url}.`);
    return new Uint8Array(await res.arrayBuffer());
  }

  async function createModel(rawJson: unknown, onnx: Uint8Array): Promise<ModelJson> {
    const json = validateModelJson(rawJson);
    const m = await Model.create(json, onnx);
    await m.warmUp();
    warmUpMetrics();
    model = m;
    return json;
  }

  const engine: Engine = {
    init(urls: ModelUrls) {
      return guarded(async () => {
        const jsonBytes = await fetchBytes(urls.modelJson, 'model description (model.json)');
        let raw: unknown;
        try {
          raw = JSON.parse(new TextDecoder().decode(jsonBytes));
        } catch (e) {
          return fail('model-invalid', `The model description (model.json) is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
        }
        const json = validateModelJson(raw);
        options.pool?.warm(); // the parse workers load while the model downloads
        const dir = urls.modelDir.endsWith('/') ? urls.modelDir : `${urls.modelDir}/`;
        const onnxUrl = new URL(json.onnx.file, new URL(dir, urls.modelJson)).href;
        const onnx = await fetchBytes(onnxUrl, `model file (${json.onnx.file})`);
        return createModel(json, onnx);
      });
    },

    initFromBytes(modelJson: unknown, onnx: Uint8Array) {
      return guarded(async () => createModel(typeof modelJson === 'string' ? (JSON.parse(modelJson) as unknown) : modelJson, onnx));
    },

    load(file: File, onProgress?: ProgressCallback): Promise<Result<LoadSummary>> {
      return guarded(async (token) => {
        const m = needModel();
        if (!(file instanceof Blob)) fail('bad-request', 'load() needs a File.');
        const name = (file as Partial<File>).name ?? 'wafers.csv';
        const next = await loadSession(file, m, { fileName: name, token, onProgress, sliceSize: options.sliceSize, pool: options.pool });
        session = next; // swap in only on success
        version++;
        return next.summary;
      });
    },

    async cancel() {
      for (const t of active) t.cancelled = true;
    },

    predict(opts: PredictOptions, onProgress?: ProgressCallback) {
      return guarded(async (token) => {
        const m = needModel();
        const s = needSession();
        if (s.map.mapping.needsConsent && !opts.acceptMappingIssues) {
          fail('mapping-not-accepted', 'Some sensor columns are missing or duplicated; confirm that they may be treated as missing readings before predicting.');
        }
        if (!s.predicted) {
          const probs = await m.score(s.matrix, s.rows, async (done) => {
            onProgress?.({ phase: 'predict', done, total: s.rows });
            token.throwIfCancelled();
          });
          token.throwIfCancelled();
          s.probabilities.set(probs);
          s.predicted = true;
          s.summary.predicted = true;
          s.orderCache.clear();
          version++;
        }
        onProgress?.({ phase: 'predict', done: s.rows, total: s.rows });
        return summarizeSession(s, m.json.threshold.value);
      });
    },

    summarize(threshold: number) {
      return guarded(async () => summarizeSession(needSession(), threshold));
    },

    window(req: WindowRequest): Promise<Result<GridWindow>> {
      return guarded(async () => {
        const s = needSession();
        const ints = [req.start, req.count, req.colStart, req.colCount];
        if (!ints.every((v) => Number.isInteger(v) && v >= 0)) fail('bad-request', 'window(): start, count, colStart and colCount must be non-negative integers.');
        if (req.order !== 'file' && req.order !== 'probability-desc' && req.order !== 'probability-asc') fail('bad-request', `window(): unknown order ${String(req.order)}.`);
        const ncol = s.header.length;
        const start = Math.min(req.start, s.rows);
        const end = Math.min(s.rows, start + req.count);
        const colStart = Math.min(req.colStart, ncol);
        const colEnd = Math.min(ncol, colStart + req.colCount);
        const perm = orderPermutation(s, req.order);
        const rowIdx: number[] = [];
        for (let i = start; i < end; i++) rowIdx.push(perm[i] as number);
        // Read sorted by file position (contiguous reads), then restore the requested order.
        const sortedRows = [...rowIdx].sort((a, b) => a - b);
        const fieldsSorted = await readRowFields(s, sortedRows);
        const byRow = new Map<number, string[]>();
        sortedRows.forEach((r, k) => byRow.set(r, fieldsSorted[k] as string[]));
        const out: CellOut = { value: 0, decimalComma: false };
        const rows: WindowRow[] = rowIdx.map((r) => {
          const fields = byRow.get(r) ?? [];
          const edits = s.edits.get(r);
          const cells: string[] = [];
          const issueCols: number[] = [];
          const editedCols: number[] = [];
          for (let c = colStart; c < colEnd; c++) {
            const edited = edits?.get(c);
            const text = edited ?? fields[c] ?? '';
            cells.push(text);
            if (edited !== undefined) editedCols.push(c);
            if (s.map.columns[c]?.role === 'feature') {
              const k = classifyCell(text, s.decimalComma, out);
              if (k === CellKind.Text || k === CellKind.NonFinite) issueCols.push(c);
            }
          }
          const idCol = s.map.idColumn;
          const idText = idCol !== null ? (edits?.get(idCol) ?? s.ids?.[r] ?? '') : '';
          const p = s.probabilities[r] as number;
          return {
            row: r,
            name: idText.trim() !== '' ? idText : `Row ${r + 1}`,
            cells,
            issueCols,
            editedCols,
            probability: Number.isNaN(p) ? null : p,
          };
        });
        return { start, rows, version };
      });
    },

    setCell(row: number, col: number, text: string): Promise<Result<CellUpdate>> {
      return guarded(async () => {
        const s = needSession();
        const m = needModel();
        if (!Number.isInteger(row) || row < 0 || row >= s.rows) fail('bad-request', `setCell(): row ${row} is out of range (0 … ${s.rows - 1}).`);
        if (!Number.isInteger(col) || col < 0 || col >= s.header.length) fail('bad-request', `setCell(): column ${col} is out of range (0 … ${s.header.length - 1}).`);
        if (typeof text !== 'string') fail('bad-request', 'setCell(): text must be a string.');
        const original = (await readRowFields(s, [row]))[0]?.[col] ?? '';
        let rowEdits = s.edits.get(row);
        if (text === original) {
          rowEdits?.delete(col);
          if (rowEdits && rowEdits.size === 0) s.edits.delete(row);
        } else {
          if (!rowEdits) {
            rowEdits = new Map();
            s.edits.set(row, rowEdits);
          }
          rowEdits.set(col, text);
        }
        const info = s.map.columns[col];
        let issue: string | null = null;
        if (info?.role === 'feature') {
          issue = cellIssueText(text, s.decimalComma);
          const fi = s.map.featureOfColumn[col] as number;
          if (fi >= 0) {
            const out: CellOut = { value: 0, decimalComma: false };
            const k = classifyCell(text, s.decimalComma, out);
            s.matrix[row * s.nFeatures + fi] = k === CellKind.Number ? out.value : Number.NaN;
            if (s.predicted) {
              const p = await m.score(s.matrix.subarray(row * s.nFeatures, (row + 1) * s.nFeatures), 1);
              s.probabilities[row] = p[0] as number;
              s.orderCache.clear();
            }
          }
        } else if (info?.role === 'label') {
          s.labels[row] = makeLabelReader(m.json.label.fail_values, m.json.label.pass_values)(text);
        } else if (info?.role === 'id' && s.ids) {
          s.ids[row] = text;
        }
        version++;
        const p = s.probabilities[row] as number;
        return { row, col, text, issue, probability: Number.isNaN(p) ? null : p, edited: text !== original };
      });
    },

    async ping(): Promise<true> {
      return true;
    },

    exportCsv(opts: ExportOptions, onProgress?: ProgressCallback): Promise<Result<ExportResult>> {
      return guarded(async (token) => {
        const s = needSession();
        if (!isProbability(opts.threshold)) fail('bad-request', `Threshold ${opts.threshold} is not in [0, 1].`);
        return runExport(s, opts, { token, onProgress, sliceSize: options.sliceSize });
      });
    },
  };
  return engine;
}

