/**
 * The one typed interface between the UI (main thread) and the engine (Web Worker, Comlink).
 * Both sides import only types from here. Every method resolves to a `Result`: the engine never throws across
 * the boundary, so the UI can always show a specific message and stay usable.
 */
import type { ModelJson } from './model-json';

export type { ModelJson } from './model-json';

/** The model as init() answers it: model.json, plus what the engine reads from the ONNX file itself. */
export interface ModelInfo extends ModelJson {
  /** The sensors the model's trees split on, in model order: per-wafer coverage is counted over these. */
  modelSensors: string[];
  /** The bundle has explain.json: explain() and the download's top_sensors column are available. */
  explanations: boolean;
  /**
   * The training distribution per sensor from the bundle's reference.json (101 quantiles, 0 % … 100 %), for a
   * reading's percentile; null without reference.json (then only model.json's p01/p99 place a reading).
   */
  quantiles: Record<string, number[] | null> | null;
}

/** Machine-readable error codes; the engine also sends a ready-to-show `message`. */
export type EngineErrorCode =
  | 'model-fetch-failed' // model.json or the .onnx file could not be fetched
  | 'model-invalid' // model.json malformed or inconsistent
  | 'model-hash-mismatch' // sha256 of the .onnx file differs from model.json
  | 'model-not-ready' // a call that needs the model came before init()
  | 'empty-file' // 0 bytes, or only blank lines
  | 'not-text' // binary content (NUL bytes, invalid UTF-8)
  | 'utf16' // UTF-16 encoded file
  | 'no-rows' // header but no data rows
  | 'no-features' // the header maps to none of the model's sensors
  | 'malformed-csv' // unbalanced quotes and the like, with the row
  | 'too-large' // the file cannot fit in this browser's memory
  | 'no-file' // an operation that needs a loaded file came before load()
  | 'mapping-not-accepted' // predict() while columns are missing/duplicated and the user has not accepted it
  | 'bad-request' // row/column out of range and the like (a UI bug, reported plainly)
  | 'no-explanations' // explain() or top_sensors with a bundle that has no explain.json
  | 'cancelled'
  | 'internal';

export interface EngineError {
  code: EngineErrorCode;
  message: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: EngineError };

export interface Progress {
  phase: 'parse' | 'predict' | 'export';
  /** Bytes for parse/export, rows for predict. */
  done: number;
  total: number;
}
export type ProgressCallback = (progress: Progress) => void;

/** Absolute URLs, built on the main thread from import.meta.env.BASE_URL (a relative URL would resolve against the worker's path). */
export interface ModelUrls {
  modelJson: string;
  /** Directory of model.json; the .onnx file name comes from model.json. */
  modelDir: string;
}

export type ColumnRole = 'id' | 'feature' | 'label' | 'other';

export interface ColumnInfo {
  /** Position in the uploaded file (0-based). */
  index: number;
  /** Header text exactly as uploaded. */
  header: string;
  role: ColumnRole;
  /** For role 'feature': the model feature it feeds (e.g. "Sensor-12"). */
  feature?: string;
  /** True for a second (or later) column mapping to the same feature: it is kept but does not feed the model. */
  duplicate?: boolean;
}

/** A cell that is not a number (nor a missing-value marker) in a feature column. */
export interface CellIssue {
  row: number; // data row, 0-based
  col: number; // file column, 0-based
  raw: string;
}

/** A data row whose field count differs from the header's. */
export interface RowShapeIssue {
  row: number;
  /** 1-based line in the file, for the message. */
  line: number;
  fields: number;
  expected: number;
}

export interface MappingReport {
  /** Model features with no column; never silently filled. */
  missingFeatures: string[];
  /** Human text with collapsed ranges: "Sensor-563 … Sensor-590 missing (28 columns)". */
  missingText: string | null;
  /** Features that appear in more than one column: the first column is used, the others are kept as data. */
  duplicateFeatures: { feature: string; columns: number[] }[];
  /** Prediction needs the user's explicit consent when features are missing or duplicated. */
  needsConsent: boolean;
}

/**
 * How the label values are read: 'declared' when they can only mean one thing (Good/Bad, Pass/Fail, the model's
 * -1/1); 'chosen' when the user said which value means fail; 'unresolved' while the coding could be read either
 * way (0/1, 1/2, yes/no, A/B…): then no label is used and no comparison is shown until the user chooses.
 */
export type LabelCoding = 'declared' | 'chosen' | 'unresolved';

export interface LabelValueCount {
  /** The value as first written in the file (trimmed). */
  value: string;
  rows: number;
}

export interface LabelReport {
  column: number;
  header: string;
  coding: LabelCoding;
  /** The value the user chose as fail ('chosen' only). */
  failValue: string | null;
  /** The distinct non-missing values, most frequent first (at most MAX_LABEL_VALUES); `moreValues` when cut. */
  values: LabelValueCount[];
  moreValues: boolean;
  fails: number;
  passes: number;
  /** Cells that are neither a fail nor a pass value (counted, not guessed); every labelled row while 'unresolved'. */
  unknown: number;
}

/** Decimal point (3.14) or decimal comma (3,14, where a point between digit groups separates thousands: 1.234,5). */
export type NumberFormat = 'point' | 'comma';

/** What the user decided for a file; each absent field is detected. A change reloads the same file with them. */
export interface LoadChoices {
  numberFormat?: NumberFormat;
  /** The column naming the wafers, or null for none. */
  idColumn?: number | null;
  /** The label column, or null for none. */
  labelColumn?: number | null;
  /** The label value that means fail (every other value means pass). */
  failValue?: string;
}

export interface LoadSummary {
  fileName: string;
  bytes: number;
  rows: number;
  columns: ColumnInfo[];
  delimiter: ',' | ';' | '\t';
  hasBom: boolean;
  lineEnding: '\n' | '\r\n' | '\r';
  /** Column used to name rows, if any. */
  idColumn: number | null;
  /** How the readings' numbers were read; `numberFormatChosen` when the user chose it, else it was detected. */
  numberFormat: NumberFormat;
  numberFormatChosen: boolean;
  mapping: MappingReport;
  label: LabelReport | null;
  /** Non-numeric cells in feature columns: total count and the first examples (≤ 200). */
  cellIssueCount: number;
  /** Of those, cells that are infinite or beyond the float32 range (inf, -inf, 1e400). */
  nonFiniteCells: number;
  cellIssues: CellIssue[];
  /** Rows with too few / too many fields: count and first examples (≤ 200). */
  rowShapeIssueCount: number;
  rowShapeIssues: RowShapeIssue[];
  /**
   * Names of the columns the download adds for the fields of rows longer than the header (every row is padded to
   * the widest, so the result columns after them line up); empty when no row is longer than the header.
   */
  extraColumns: string[];
  /** Non-empty fields past the header's width; 0 when rows are long only by trailing delimiters. */
  extraFilledFields: number;
  /** Lines of only delimiters (e.g. a spreadsheet's trailing `,,,,` lines): not wafers, kept as they are in the download. */
  delimiterOnlyLines: number;
  /** The first of them (≤ 200), 1-based line numbers. */
  delimiterOnlyLineExamples: number[];
  /** Missing readings (empty, NA, NaN, null…) in mapped feature columns. */
  missingCells: number;
  /** Cells a spreadsheet would run as a formula (header cells included); neutralized in the download. */
  formulaLikeCells: number;
  /** Plain-language notes the UI must show that no other field carries (e.g. decimal commas read as points). */
  notices: string[];
}

export interface PredictOptions {
  /** The user chose to treat missing/duplicated feature columns as missing readings. */
  acceptMappingIssues: boolean;
  /** The threshold the returned results are counted at (the UI's). */
  threshold: number;
}

export interface Evaluation {
  threshold: number;
  /** Rows with a known label (pass or fail) and a probability. */
  evaluated: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  recall: number | null;
  precision: number | null;
  f1: number | null;
  /** Threshold-free, over the evaluated rows; null when one class is absent. */
  rocAuc: number | null;
  prAuc: number | null;
}

export interface ResultsSummary {
  rows: number;
  /** Rows with a probability (all rows once predicted). */
  scored: number;
  threshold: number;
  flagged: number;
  /** Sensors the model's trees use: per-wafer coverage is counted over these. */
  modelSensors: number;
  /** Wafers with readings for fewer than half of those sensors (format.ts, isLowCoverage). */
  lowCoverage: number;
  /** The user chose to score and count low-coverage wafers; otherwise they have no probability and are not counted. */
  lowCoverageScored: boolean;
  /** The first low-coverage wafers (≤ 200), in file order. */
  lowCoverageWafers: { row: number; name: string; readings: number }[];
  /** Counts of probabilities in 20 equal bins over [0, 1]. */
  histogram: number[];
  evaluation: Evaluation | null;
}

/**
 * What every call that reads or changes the data answers with: the results at the caller's threshold and the
 * data version. The version changes whenever a row's content, probability or order may have changed, and only
 * then; it is unique within an engine, so a window read at another version is stale.
 */
export interface DataState {
  version: number;
  /** Counts and metrics at the threshold the call was given; null while no row is scored. */
  results: ResultsSummary | null;
}

export interface LoadResult extends DataState {
  summary: LoadSummary;
}

/** One user edit: the new text of a cell. */
export interface CellEdit {
  row: number;
  col: number;
  text: string;
}

export interface EditResult extends DataState {
  update: CellUpdate;
}

export type RowOrder = 'file' | 'probability-desc' | 'probability-asc';

export interface WindowRequest {
  /** Position in the current order (not the data row index). */
  start: number;
  count: number;
  colStart: number;
  colCount: number;
  order: RowOrder;
}

export interface WindowRow {
  /** Data row index (0-based, file order). */
  row: number;
  /** Wafer name: the id column's text, else "Row N" (1-based). */
  name: string;
  /** Cell texts for columns colStart … colStart+colCount-1, current value (edits applied). */
  cells: string[];
  /** Column indices (absolute) in this window whose cell is not a valid number in a feature column. */
  issueCols: number[];
  /** Column indices (absolute) in this window that the user edited. */
  editedCols: number[];
  probability: number | null;
  /** How many of the sensors the model uses have a reading (edits applied). */
  modelReadings: number;
}

export interface GridWindow {
  start: number;
  rows: WindowRow[];
  /** The data version these rows were read at (see DataState.version). */
  version: number;
}

export interface CellUpdate {
  row: number;
  col: number;
  text: string;
  /** Why the new text is not a valid reading (it will be treated as missing), or null. */
  issue: string | null;
  probability: number | null;
  /** Whether the cell now differs from the uploaded value. */
  edited: boolean;
}

export interface ExportOptions {
  threshold: number;
  onlyFlagged: boolean;
  /**
   * Add a `top_sensors` column: the wafer's three largest contributions, e.g. `Sensor-60 (+0.84); Sensor-104
   * (+0.41); Sensor-33 (−0.20)` (log-odds). Off by default, so the default file is unchanged.
   */
  topSensors?: boolean;
}

/** One sensor's share of a wafer's log-odds of fail (exact TreeSHAP / linear attribution). */
export interface SensorContribution {
  /** The sensor's name, or the bundle's name for the missing-reading count (a pseudo-sensor of some models). */
  sensor: string;
  /** Model feature index; -1 for the missing-reading count. */
  feature: number;
  /** The wafer's reading (edits applied); null when missing. For the missing-reading count: the count. */
  value: number | null;
  /** log-odds: > 0 pushes the wafer toward fault, < 0 toward pass. */
  contribution: number;
}

/** Why a wafer got its P(fail): contributions that, added to `base`, give `margin` = logit P(fail). */
export interface WaferExplanation {
  row: number;
  name: string;
  /** The wafer's P(fail) as scored; null when not scored (low coverage). */
  probability: number | null;
  /** logit of the model's P(fail) for the wafer's readings (also when not scored). */
  margin: number;
  /** The log-odds of an average training wafer (the expected value the contributions start from). */
  base: number;
  /** Every non-zero contribution, largest |contribution| first. */
  contributions: SensorContribution[];
  /** Missing readings among the sensors the model uses. */
  missingModelReadings: number;
}

export interface ExportResult {
  blob: Blob;
  fileName: string;
  rows: number;
  /** The threshold the prediction column was written at (the one asked for when the export started). */
  threshold: number;
  /** Text cells prefixed with ' so a spreadsheet will not run them as formulas. */
  neutralizedCells: number;
  editedCells: number;
}

export interface EngineApi {
  /** Fetch model.json and the ONNX file, verify its sha256, create the session. */
  init(urls: ModelUrls): Promise<Result<ModelInfo>>;
  /**
   * Stream-parse the file; scores rows while parsing when the mapping is complete (then `results` is counted at
   * `threshold`). Replaces any loaded file only on success. `choices` override what is detected (number format,
   * id and label columns, label coding).
   */
  load(file: File, threshold: number, onProgress?: ProgressCallback, choices?: LoadChoices): Promise<Result<LoadResult>>;
  /** Stop the running load/predict/export; its promise resolves with code 'cancelled'. */
  cancel(): Promise<void>;
  /** Score every row (once; again only after the file changes) and count the results at options.threshold. */
  predict(options: PredictOptions, onProgress?: ProgressCallback): Promise<Result<DataState>>;
  /** The results at another threshold; changes no data, so the version stays. */
  summarize(threshold: number): Promise<Result<DataState>>;
  window(request: WindowRequest): Promise<Result<GridWindow>>;
  /** Change one cell (its wafer is re-scored when scored before); results at `threshold`. */
  setCell(edit: CellEdit, threshold: number): Promise<Result<EditResult>>;
  /** Re-apply many edits at once (an engine restart replays the user's edits); results at `threshold`. */
  setCells(edits: CellEdit[], threshold: number): Promise<Result<DataState>>;
  /**
   * Whether wafers with low coverage are scored and counted (true) or have no probability (false, the default
   * for every new file); results at `threshold`.
   */
  scoreLowCoverage(include: boolean, threshold: number): Promise<Result<DataState>>;
  exportCsv(options: ExportOptions, onProgress?: ProgressCallback): Promise<Result<ExportResult>>;
  /** The exact explanation of one wafer (data row), from its current readings (edits applied). */
  explain(row: number): Promise<Result<WaferExplanation>>;
  /** Liveness check for the UI's heartbeat: answers at once (between slices of any long operation). */
  ping(): Promise<true>;
}
