/**
 * The one typed interface between the UI (main thread) and the engine (Web Worker, Comlink).
 * Both sides import only types from here. Every method resolves to a `Result`: the engine never throws across
 * the boundary, so the UI can always show a specific message and stay usable.
 */
import type { ModelJson } from './model-json';

export type { ModelJson } from './model-json';

/** Where the active model came from: the bundle shipped with the page, or one the user gave (its zip's or files' name). */
export type ModelSource = { kind: 'shipped' } | { kind: 'bundle'; from: string };

/** The model as init() answers it: model.json, plus what the engine reads from the ONNX file itself. */
export interface ModelInfo extends ModelJson {
  /** The sensors the model's trees split on, in model order: per-wafer coverage is counted over these. */
  modelSensors: string[];
  source: ModelSource;
  /** The bundle carries the training distribution (reference.json): drift() and the training cost curve work. */
  hasReference: boolean;
  /** The bundle has explain.json: explain() and the download's top_sensors column are available. */
  explanations: boolean;
  /**
   * The training distribution per sensor from the bundle's reference.json (101 quantiles, 0 % … 100 %), for a
   * reading's percentile; null without reference.json (then only model.json's p01/p99 place a reading).
   */
  quantiles: Record<string, number[] | null> | null;
}

/** The open file, read again against the model switched to (with the user's choices; the new model's threshold). */
export interface ReloadRequest {
  file: File;
  choices: LoadChoices;
}

/** What a model switch answers: the new model, and the file read against it (null when no file was given). */
export interface ModelSwitch {
  model: ModelInfo;
  load: LoadResult | null;
}

/** Machine-readable error codes; the engine also sends a ready-to-show `message`. */
export type EngineErrorCode =
  | 'model-fetch-failed' // model.json or the .onnx file could not be fetched
  | 'model-invalid' // model.json malformed or inconsistent
  | 'model-hash-mismatch' // sha256 of the .onnx file (or another bundle file) differs from model.json
  | 'model-not-ready' // a call that needs the model came before init()
  | 'bundle-invalid' // a bundle the user gave: no model.json, not JSON, a listed file missing, a zip with folders…
  | 'bundle-unsupported' // a bundle of another format than the one this page reads
  | 'reload-failed' // the model switch was not made: the open file cannot be read against the new model
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
  | 'no-reference' // drift() with a bundle that has no reference.json
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
  /** In a batch: the file being read or written, its position (0-based) and the number of files. */
  file?: string;
  fileIndex?: number;
  fileCount?: number;
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

/** What setCells answers: the results, and each edit's update in the order given (a replay re-derives the issues from them). */
export interface EditsResult extends DataState {
  updates: CellUpdate[];
}

/** 'source-asc' / 'source-desc' (a batch only): by source file name, each file's rows in file order. */
export type RowOrder = 'file' | 'probability-desc' | 'probability-asc' | 'source-asc' | 'source-desc';

export interface WindowRequest {
  /** Position in the current order (not the data row index). */
  start: number;
  count: number;
  colStart: number;
  colCount: number;
  order: RowOrder;
  /** A batch only: show the rows of this file (its index in BatchReport.files) and no others. */
  source?: number | null;
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
  /** A batch only: the name of the file the row comes from. */
  source?: string;
  /** How many of the sensors the model uses have a reading outside the training p01–p99 range (edits applied). */
  outOfRange: number;
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

/** One file given to a batch, with the name it is reported and downloaded under (its path inside the folder). */
export interface BatchInput {
  file: File;
  name: string;
}

/**
 * What became of one file of a batch: 'loaded' (its rows are in the batch), 'refused' (the single-file load
 * refused it, `error` says why, with the same message), or 'disagrees' (it loaded, but its columns, delimiter or
 * number format differ from the batch's, so merging it would put readings under other names: `error` says how).
 */
export interface BatchFileReport {
  name: string;
  bytes: number;
  status: 'loaded' | 'refused' | 'disagrees';
  error: EngineError | null;
  /** The file's own load report ('loaded'), its rows and cells numbered as in the batch (row firstRow is its first). */
  summary: LoadSummary | null;
  firstRow: number;
  rows: number;
}

export interface BatchReport {
  files: BatchFileReport[];
  /** Files whose rows are in the batch. */
  loaded: number;
}

export interface BatchLoadResult extends LoadResult {
  batch: BatchReport;
}

/** One loaded file's counts at a threshold. */
export interface BatchFileResults {
  /** Index in BatchReport.files. */
  index: number;
  name: string;
  rows: number;
  flagged: number;
  /** Cells that are not readings, rows of the wrong shape, low-coverage wafers, missing or duplicated sensor columns. */
  problems: number;
  results: ResultsSummary | null;
}

/** Why one sensor counts as drifted (see workers/engine/drift.ts for the tests and their thresholds). */
export type DriftReason = 'distribution' | 'missing' | 'range';

/** One sensor of the file against its training distribution. */
export interface SensorDrift {
  sensor: string;
  /** Model feature index. */
  feature: number;
  /** Share of the model's gain on this sensor (0 for a sensor the trees do not use). */
  reliance: number;
  usedByModel: boolean;
  /** Readings of this sensor in the file. */
  present: number;
  missingRate: number;
  trainMissingRate: number;
  /** Share of the file's readings outside the training 1 %–99 % range (≈ 2 % expected); null when not judged. */
  outsideShare: number | null;
  /** Wasserstein-1 distance between the file's and the training readings, divided by the training std; null when not judged. */
  distance: number | null;
  /** Kolmogorov–Smirnov statistic on the training quantile grid; null when not judged. */
  ks: number | null;
  /** The smallest p-value of the sensor's tests after the Bonferroni correction over every test of the file. */
  p: number;
  reasons: DriftReason[];
  /** Why the distribution was not judged (too few readings, never read in training), or null. */
  note: string | null;
}

export type DriftVerdict = 'similar' | 'some-drift' | 'unlike' | 'not-judged';

export interface DriftReport {
  verdict: DriftVerdict;
  /** The verdict in one sentence; names the drifted model sensors first. */
  headline: string;
  rows: number;
  /** The wafers compared: every `stride`-th of a file of more than DRIFT_SAMPLE_ROWS (20,000), else all. */
  binnedRows: number;
  stride: number;
  /** Files with fewer wafers are not judged (see drift.ts MIN_WAFERS for why). */
  minWafers: number;
  sensorsTested: number;
  sensorsDrifted: number;
  modelSensorsDrifted: string[];
  /** Share of the model's gain on drifted sensors. */
  relianceDrifted: number;
  /** Every sensor, model sensors by reliance first, then the others in model order; empty when not judged. */
  sensors: SensorDrift[];
  thresholds: { alpha: number; tests: number; distance: number; missingChange: number; outsideShare: number; relianceUnlike: number; shareUnlike: number };
}

/** One sensor's distribution for the plot: the training quantiles and the file's CDF at them. */
export interface SensorDistribution {
  sensor: string;
  /** The 101 training quantiles (0 %, 1 %, …, 100 %), float32 as compared. */
  edges: number[];
  /** The training CDF at each edge (ties: the highest level of the tied quantiles). */
  trainCdf: number[];
  /** The file's share of readings ≤ each edge. */
  fileCdf: number[];
  /** The file's share of readings below the training minimum / above the maximum. */
  below: number;
  above: number;
  /** The mean of the file's readings below the training minimum / above the maximum (null when none). */
  belowMean: number | null;
  aboveMean: number | null;
  present: number;
}

/** One point of a curve at a threshold. */
export interface CurvePoint {
  threshold: number;
  x: number;
  y: number;
}

export interface ReliabilityBin {
  /** Bin [lo, hi) of predicted P(fail). */
  lo: number;
  hi: number;
  wafers: number;
  meanPredicted: number;
  observedFailRate: number;
}

/** Misses and false alarms at each threshold of a fixed grid, for the cost helper. */
export interface CostCounts {
  fails: number;
  passes: number;
  /** Fails not flagged (p < t) and passes flagged (p ≥ t) at thresholds[i]. */
  missed: number[];
  falseAlarms: number[];
}

export interface EvaluationCurves {
  /** ROC: x = false-positive rate, y = recall, from the highest threshold down. */
  roc: CurvePoint[];
  /** PR: x = recall, y = precision. */
  pr: CurvePoint[];
  reliability: ReliabilityBin[];
  thresholds: number[];
  file: CostCounts;
  /** The training out-of-fold predictions (reference.json), or null when the bundle has none. */
  training: (CostCounts & { protocol: string }) | null;
}

export interface EngineApi {
  /**
   * Fetch model.json and the ONNX file, verify its sha256, create the session. `onModel` is called as soon as the
   * model is described (before the onnxruntime session exists): load() works from then on, and scores once init
   * has answered.
   */
  init(urls: ModelUrls, onModel?: (info: ModelInfo) => void): Promise<Result<ModelInfo>>;
  /**
   * Check a bundle the user gave (its files, or one .zip; every listed file's sha256) and switch to its model. With
   * `reload`, that file is read again against the new model and the switch is made only if both succeed
   * ('reload-failed' otherwise); without, any open file is closed. A failure changes nothing. The Files are passed
   * as handles (structured clone shares their bytes), so the bundle is read here, where it is used.
   */
  useBundle(files: File[], reload: ReloadRequest | null, onProgress?: ProgressCallback): Promise<Result<ModelSwitch>>;
  /** Switch back to the model init() loaded, as useBundle does (no download: it is kept since init). */
  useShippedModel(reload: ReloadRequest | null, onProgress?: ProgressCallback): Promise<Result<ModelSwitch>>;
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
  setCells(edits: CellEdit[], threshold: number): Promise<Result<EditsResult>>;
  /**
   * Whether wafers with low coverage are scored and counted (true) or have no probability (false, the default
   * for every new file); results at `threshold`.
   */
  scoreLowCoverage(include: boolean, threshold: number): Promise<Result<DataState>>;
  /** The predictions CSV; for a batch, one file of every loaded file's rows with a `source_file` column first. */
  exportCsv(options: ExportOptions, onProgress?: ProgressCallback): Promise<Result<ExportResult>>;
  /**
   * Load many files as one batch: each is loaded on its own by load()'s path (same checks, same messages); the
   * ones that load and agree with each other become one session (the grid, edits, predict and results work on
   * it as on one file), the others are reported. Refused up front when the sum exceeds the memory budget.
   */
  loadBatch(inputs: BatchInput[], threshold: number, onProgress?: ProgressCallback, choices?: LoadChoices): Promise<Result<BatchLoadResult>>;
  /** A batch's counts per loaded file at `threshold`. */
  batchResults(threshold: number): Promise<Result<BatchFileResults[]>>;
  /** A batch: a zip of one predictions file per loaded file, each byte for byte the single-file download of that file. */
  exportZip(options: ExportOptions, onProgress?: ProgressCallback): Promise<Result<ExportResult>>;
  /**
   * The file against the training distribution; computed once per file (one pass over the readings) and kept
   * up to date by edits. Error 'no-reference' when the bundle has no reference.json.
   */
  drift(): Promise<Result<DriftReport>>;
  /** One sensor's distribution, file against training, for the plot. */
  driftDistribution(sensor: string): Promise<Result<SensorDistribution>>;
  /** ROC, PR, reliability and cost counts of the labelled wafers; null when none is labelled and scored. */
  curves(): Promise<Result<EvaluationCurves | null>>;
  /** The exact explanation of one wafer (data row), from its current readings (edits applied). */
  explain(row: number): Promise<Result<WaferExplanation>>;
  /** Liveness check for the UI's heartbeat: answers at once (between slices of any long operation). */
  ping(): Promise<true>;
}
