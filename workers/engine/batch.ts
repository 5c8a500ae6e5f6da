/**
 * A batch: many wafer files loaded as one session. Each file goes through the single-file load (load.ts), so it
 * is checked with the same rules and refused with the same message; the files that load and agree with each
 * other (same header, delimiter and number format) are joined into one Session whose file is the files one after
 * the other (a Blob of Blobs: no copy of the text). Everything that works on a session — the grid, edits,
 * predict, results, the low-coverage choice — then works on the batch unchanged; each file keeps its own session
 * (its arrays become views of the batch's) for its download and its counts.
 */
import type { BatchFileReport, BatchFileResults, BatchInput, BatchReport, CellIssue, LabelReport, LabelValueCount, LoadChoices, LoadSummary, ProgressCallback, RowShapeIssue } from '../api';
import { formatBytes, formatCount, pluralize } from '../format';
import { type CancelToken, EngineFailure, fail, toEngineError } from './errors';
import { loadSession, plannedFewestRows } from './load';
import { bytesPerRow, MAX_RESIDENT_BYTES, maxRows } from './memory-plan';
import type { Model } from './model';
import type { ParsePool } from './pool';
import { MAX_EXAMPLES } from './rows';
import { resultsAt, type BatchPart, type Session } from './session';

export interface BatchLoadOptions {
  token: CancelToken;
  onProgress?: ProgressCallback | undefined;
  sliceSize?: number | undefined;
  pool?: ParsePool | undefined;
  choices?: LoadChoices | undefined;
}

/**
 * Rows a batch may hold: each file is loaded into its own buffers and then copied into the batch's, so for a
 * moment both are resident — half the resident budget, and never more than one file's readings budget.
 */
export function maxBatchRows(nFeatures: number): number {
  return Math.min(maxRows(nFeatures), Math.floor(MAX_RESIDENT_BYTES / (2 * bytesPerRow(nFeatures))));
}

/** The too-large refusal of a batch: the sum, the budget and the command-line tool for folders. */
function batchTooLarge(files: number, bytes: number, rowsText: string, nFeatures: number): never {
  throw new EngineFailure(
    'too-large',
    `This batch is too large for this browser's memory: ${pluralize(files, 'file')}, ${formatBytes(bytes)} together, ${rowsText}; a batch may hold ${formatCount(maxBatchRows(nFeatures))} wafers in all. ` +
      'Load fewer files at a time, or score the folder with the command-line tool (`npx sensor-fault predict DIR -o OUT`).',
  );
}

/** Before reading any file: refuse a batch whose files together surely hold more rows than the budget. */
async function checkBudgetUpFront(inputs: BatchInput[], model: Model, sliceSize: number | undefined, token: CancelToken): Promise<void> {
  let fewest = 0;
  let bytes = 0;
  for (const input of inputs) {
    bytes += input.file.size;
    fewest += (await plannedFewestRows(input.file, sliceSize)) ?? 0;
    token.throwIfCancelled();
  }
  if (fewest > maxBatchRows(model.nFeatures)) batchTooLarge(inputs.length, bytes, `at least ${formatCount(fewest)} wafers`, model.nFeatures);
}

/** What a batch file's load gave: its session, or why it was refused. */
type Loaded = { input: BatchInput; session: Session } | { input: BatchInput; session: null; report: BatchFileReport };

/** Load every file on its own, in order; a refused file is reported, and the batch goes on. */
async function loadEach(inputs: BatchInput[], model: Model, opts: BatchLoadOptions): Promise<Loaded[]> {
  const loaded: Loaded[] = [];
  let rows = 0;
  let bytes = 0;
  for (const [k, input] of inputs.entries()) {
    const progress: ProgressCallback = (p) => opts.onProgress?.({ ...p, file: input.name, fileIndex: k, fileCount: inputs.length });
    progress({ phase: 'parse', done: 0, total: input.file.size });
    try {
      const session = await loadSession(input.file, model, { fileName: input.name, token: opts.token, onProgress: progress, sliceSize: opts.sliceSize, pool: opts.pool, choices: opts.choices });
      rows += session.rows;
      bytes += input.file.size;
      // A gzip file is planned only once read: the running sum is checked as well.
      if (rows > maxBatchRows(model.nFeatures)) batchTooLarge(inputs.length, bytes, `${formatCount(rows)} wafers in the first ${pluralize(k + 1, 'file')}`, model.nFeatures);
      loaded.push({ input, session });
    } catch (e) {
      const error = toEngineError(e);
      // Cancel and the batch's own size stop the whole batch; anything else is this file's problem.
      if (error.code === 'cancelled' || (error.code === 'too-large' && error.message.startsWith('This batch'))) throw e;
      loaded.push({ input, session: null, report: { name: input.name, bytes: input.file.size, status: 'refused', error, summary: null, firstRow: 0, rows: 0 } });
    }
  }
  return loaded;
}

/** What files must share to be one table: the header (names, order), the delimiter and the number format. */
function shapeKey(s: Session): string {
  return JSON.stringify([s.header, s.sniffed.delimiter, s.decimalComma]);
}

const DELIMITER_TEXT = { ',': 'commas', ';': 'semicolons', '\t': 'tabs' } as const;

/** How a file's shape differs from the batch's, in words. */
export function describeDisagreement(s: Session, ref: Session): string {
  const diffs: string[] = [];
  const mine = new Set(s.header);
  const theirs = new Set(ref.header);
  const missing = ref.header.filter((h) => !mine.has(h));
  const extra = s.header.filter((h) => !theirs.has(h));
  const list = (names: string[]) => names.slice(0, 5).map((n) => `“${n}”`).join(', ') + (names.length > 5 ? ` and ${formatCount(names.length - 5)} more` : '');
  if (missing.length > 0) diffs.push(`it has no ${pluralize(missing.length, 'column')} ${list(missing)}`);
  if (extra.length > 0) diffs.push(`it has ${pluralize(extra.length, 'column')} the others do not: ${list(extra)}`);
  if (missing.length === 0 && extra.length === 0 && s.header.length === ref.header.length && s.header.some((h, i) => h !== ref.header[i])) diffs.push('its columns are in another order');
  if (missing.length === 0 && extra.length === 0 && s.header.length !== ref.header.length) diffs.push('it repeats a column name a different number of times');
  if (s.sniffed.delimiter !== ref.sniffed.delimiter) diffs.push(`its fields are separated by ${DELIMITER_TEXT[s.sniffed.delimiter]}, not ${DELIMITER_TEXT[ref.sniffed.delimiter]}`);
  if (s.decimalComma !== ref.decimalComma) diffs.push(`its numbers are read with a decimal ${s.decimalComma ? 'comma' : 'point'}, not a decimal ${ref.decimalComma ? 'comma' : 'point'}`);
  return (
    `Its columns do not agree with the batch's (those of “${ref.fileName}” and the other files like it): ${diffs.join('; ')}. ` +
    'It is kept out of the batch rather than merged, so that no reading is counted under another column. Load it on its own, or correct its header and add it again.'
  );
}

/**
 * The batch's shape: the one most files share (the earliest such file breaks a tie). A whole folder where one
 * file has a stray column keeps the many and reports the one, whichever comes first.
 */
function batchShape(sessions: Session[]): string | null {
  const counts = new Map<string, number>();
  for (const s of sessions) counts.set(shapeKey(s), (counts.get(shapeKey(s)) ?? 0) + 1);
  let best: string | null = null;
  for (const s of sessions) {
    const key = shapeKey(s);
    if (best === null || (counts.get(key) as number) > (counts.get(best) as number)) best = key;
  }
  return best;
}

/** Nothing loaded: there is no batch to show the report in, so the message carries every file's reason. */
function noFileLoadedMessage(loaded: Loaded[]): string {
  const SHOWN = 10;
  const reasons = loaded.slice(0, SHOWN).map((l) => `“${l.input.name}”: ${l.session ? 'loaded' : l.report.error?.message}`);
  const more = loaded.length > SHOWN ? ` And ${pluralize(loaded.length - SHOWN, 'more file')}.` : '';
  return `None of the ${pluralize(loaded.length, 'file')} could be loaded. ${reasons.join(' ')}${more}`;
}

export interface LoadedBatch {
  session: Session;
  report: BatchReport;
}

export async function loadBatch(inputs: BatchInput[], model: Model, opts: BatchLoadOptions): Promise<LoadedBatch> {
  if (inputs.length === 0) fail('bad-request', 'loadBatch(): no files given.');
  await checkBudgetUpFront(inputs, model, opts.sliceSize, opts.token);
  const loaded = await loadEach(inputs, model, opts);
  const sessions = loaded.flatMap((l) => (l.session ? [l.session] : []));
  const shape = batchShape(sessions);
  const ref = sessions.find((s) => shapeKey(s) === shape) ?? null;
  if (ref === null) fail('no-rows', noFileLoadedMessage(loaded));
  const kept = sessions.filter((s) => shapeKey(s) === shape);
  const session = joinSessions(kept, model);
  opts.token.throwIfCancelled();
  const parts = session.batch?.parts ?? [];
  let partAt = 0;
  const files: BatchFileReport[] = loaded.map((l) => {
    if (!l.session) return l.report;
    if (shapeKey(l.session) !== shape) {
      return { name: l.input.name, bytes: l.input.file.size, status: 'disagrees', error: { code: 'bad-request', message: describeDisagreement(l.session, ref) }, summary: null, firstRow: 0, rows: 0 };
    }
    const part = parts[partAt++] as BatchPart;
    return { name: l.input.name, bytes: l.input.file.size, status: 'loaded', error: null, summary: shiftedSummary(part.session.summary, part.firstRow), firstRow: part.firstRow, rows: part.session.rows };
  });
  // The report's indices name the parts (the grid's file filter, the per-file counts).
  let k = 0;
  files.forEach((f, index) => {
    if (f.status === 'loaded') (parts[k++] as BatchPart).index = index;
  });
  return { session, report: { files, loaded: kept.length } };
}

/** A file's report with its rows numbered as in the batch (its first row is `firstRow`). */
function shiftedSummary(s: LoadSummary, firstRow: number): LoadSummary {
  return {
    ...s,
    cellIssues: s.cellIssues.map((c) => ({ ...c, row: c.row + firstRow })),
    rowShapeIssues: s.rowShapeIssues.map((r) => ({ ...r, row: r.row + firstRow })),
  };
}

/**
 * One session of the rows of `sessions` (which share their header, delimiter and number format), in order. The
 * per-row arrays are copied into the batch's once; each file's session is then given views of them, so an edit
 * made in the batch is seen by the file's download and counts.
 */
function joinSessions(sessions: Session[], model: Model): Session {
  const first = sessions[0] as Session;
  const nF = model.nFeatures;
  const rows = sessions.reduce((n, s) => n + s.rows, 0);
  const matrix = new Float32Array(rows * nF);
  const labels = new Int8Array(rows);
  const rowFlags = new Uint8Array(rows);
  const probabilities = new Float32Array(rows);
  const modelReadings = new Uint16Array(rows);
  const rowStart = new Float64Array(rows + 1);
  const rowContentEnd = new Float64Array(rows);
  const rowLine = new Int32Array(rows);
  const ids: string[] | null = first.ids ? [] : null;
  const parts: BatchPart[] = [];
  let at = 0;
  let offset = 0;
  for (const s of sessions) {
    matrix.set(s.matrix, at * nF);
    labels.set(s.labels, at);
    rowFlags.set(s.rowFlags, at);
    probabilities.set(s.probabilities, at);
    modelReadings.set(s.modelReadings, at);
    for (let r = 0; r < s.rows; r++) {
      rowStart[at + r] = (s.rowStart[r] as number) + offset;
      rowContentEnd[at + r] = (s.rowContentEnd[r] as number) + offset;
    }
    rowLine.set(s.rowLine, at);
    if (ids) for (let r = 0; r < s.rows; r++) ids.push(s.ids?.[r] ?? '');
    parts.push({ index: parts.length, name: s.fileName, session: s, firstRow: at });
    at += s.rows;
    offset += s.file.size;
  }
  rowStart[rows] = offset;
  // Each file's session now reads and writes the batch's arrays.
  for (const p of parts) {
    const s = p.session;
    const a = p.firstRow;
    s.matrix = matrix.subarray(a * nF, (a + s.rows) * nF);
    s.labels = labels.subarray(a, a + s.rows);
    s.rowFlags = rowFlags.subarray(a, a + s.rows);
    s.probabilities = probabilities.subarray(a, a + s.rows);
    s.modelReadings = modelReadings.subarray(a, a + s.rows);
  }
  const unresolved = sessions.some((s) => s.summary.label?.coding === 'unresolved');
  // One file's coding that could be read either way leaves the whole batch without labels until the user says.
  if (unresolved) labels.fill(-1);
  return {
    ...first,
    file: new Blob(sessions.map((s) => s.file)),
    fileName: `${pluralize(sessions.length, 'file')}`,
    rows,
    rowStart,
    rowContentEnd,
    rowLine,
    matrix,
    labels,
    ids,
    rowFlags,
    probabilities,
    predicted: sessions.every((s) => s.predicted),
    parsedRows: new Map(),
    edits: new Map(),
    orderCache: new Map(),
    scoreIndex: null,
    readLabel: unresolved ? () => -1 : first.readLabel,
    widestRow: Math.max(...sessions.map((s) => s.widestRow)),
    modelReadings,
    summary: joinedSummary(sessions.map((s, k) => ({ s: s.summary, firstRow: (parts[k] as BatchPart).firstRow }))),
    batch: { parts },
  };
}

/** The batch's report: the first file's columns, the files' counts added up, their examples in batch rows. */
function joinedSummary(files: { s: LoadSummary; firstRow: number }[]): LoadSummary {
  const first = (files[0] as { s: LoadSummary }).s;
  const sum = (f: (s: LoadSummary) => number) => files.reduce((n, x) => n + f(x.s), 0);
  const cellIssues: CellIssue[] = [];
  const rowShapeIssues: RowShapeIssue[] = [];
  for (const { s, firstRow } of files) {
    for (const c of s.cellIssues) if (cellIssues.length < MAX_EXAMPLES) cellIssues.push({ ...c, row: c.row + firstRow });
    for (const r of s.rowShapeIssues) if (rowShapeIssues.length < MAX_EXAMPLES) rowShapeIssues.push({ ...r, row: r.row + firstRow });
  }
  const widest = files.reduce((w, x) => (x.s.extraColumns.length > w.length ? x.s.extraColumns : w), first.extraColumns);
  const notices = [...new Set(files.flatMap((x) => x.s.notices.map((n) => `${x.s.fileName}: ${n}`)))];
  return {
    ...first,
    fileName: `${pluralize(files.length, 'file')}`,
    bytes: sum((s) => s.bytes),
    rows: sum((s) => s.rows),
    label: joinedLabel(files.map((x) => x.s.label)),
    cellIssueCount: sum((s) => s.cellIssueCount),
    nonFiniteCells: sum((s) => s.nonFiniteCells),
    cellIssues,
    rowShapeIssueCount: sum((s) => s.rowShapeIssueCount),
    rowShapeIssues,
    extraColumns: widest,
    extraFilledFields: sum((s) => s.extraFilledFields),
    delimiterOnlyLines: sum((s) => s.delimiterOnlyLines),
    delimiterOnlyLineExamples: [],
    missingCells: sum((s) => s.missingCells),
    // Every file has the same header: its formula-like cells are written once, in the combined download's header.
    formulaLikeCells: sum((s) => s.formulaLikeCells),
    notices,
  };
}

/** The label over the batch: 'unresolved' when any file's is; the values' counts added up. */
function joinedLabel(labels: (LabelReport | null)[]): LabelReport | null {
  const present = labels.filter((l): l is LabelReport => l !== null);
  const first = present[0];
  if (!first) return null;
  const unresolved = present.some((l) => l.coding === 'unresolved');
  const values = new Map<string, LabelValueCount>();
  for (const l of present) for (const v of l.values) values.set(v.value, { value: v.value, rows: (values.get(v.value)?.rows ?? 0) + v.rows });
  const sum = (f: (l: LabelReport) => number) => present.reduce((n, l) => n + f(l), 0);
  const all = sum((l) => l.fails + l.passes + l.unknown);
  return {
    ...first,
    coding: unresolved ? 'unresolved' : first.coding,
    values: [...values.values()].sort((a, b) => b.rows - a.rows),
    moreValues: present.some((l) => l.moreValues),
    ...(unresolved ? { fails: 0, passes: 0, unknown: all } : { fails: sum((l) => l.fails), passes: sum((l) => l.passes), unknown: sum((l) => l.unknown) }),
  };
}

/**
 * A file of the batch as a session of its own, as it stands now (the batch's edits, scores and choices): what its
 * download and its counts are made from.
 */
export function partSession(batch: Session, part: BatchPart): Session {
  const s = part.session;
  const edits = new Map<number, Map<number, string>>();
  for (const [row, cells] of batch.edits) if (row >= part.firstRow && row < part.firstRow + s.rows) edits.set(row - part.firstRow, cells);
  return {
    ...s,
    edits,
    predicted: batch.predicted,
    scoreLowCoverage: batch.scoreLowCoverage,
    ids: batch.ids ? batch.ids.slice(part.firstRow, part.firstRow + s.rows) : null,
    summary: { ...s.summary, label: batch.summary.label && s.summary.label ? { ...s.summary.label, coding: batch.summary.label.coding } : s.summary.label },
    scoreIndex: null,
    orderCache: new Map(),
    parsedRows: new Map(),
  };
}

/** Each loaded file's counts at a threshold; rows in batch numbering. */
export function batchResults(batch: Session, threshold: number): BatchFileResults[] {
  return (batch.batch?.parts ?? []).map((part) => {
    const s = partSession(batch, part);
    const results = resultsAt(s, threshold);
    const shifted = results && { ...results, lowCoverageWafers: results.lowCoverageWafers.map((w) => ({ ...w, row: w.row + part.firstRow })) };
    const m = s.summary.mapping;
    const problems = s.summary.cellIssueCount + s.summary.rowShapeIssueCount + (results?.lowCoverage ?? 0) + m.missingFeatures.length + m.duplicateFeatures.length;
    return { index: part.index, name: part.name, rows: s.rows, flagged: results?.flagged ?? 0, problems, results: shifted };
  });
}
