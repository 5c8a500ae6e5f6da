/**
 * The state kept for one loaded file (built by load.ts) and what is done with it afterwards: reading rows for
 * the grid, the user's edits, scoring and counting the results.
 */
import type { CellEdit, CellUpdate, LoadSummary, ResultsSummary, RowOrder, WindowRequest, WindowRow } from '../api';
import { isLowCoverage } from '../format';
import type { ColumnMapping } from './columns';
import { decodeUtf8, parseText, readBytes, type Sniffed } from './csv';
import type { Model } from './model';
import { MAX_EXAMPLES } from './rows';
import { ScoreIndex } from './score-index';
import { countModelReadings, withholdLowCoverage } from './session-builder';
import { CellKind, cellIssueText, classifyCell, newCellOut, type LabelValue } from './validate';

export { FLAG_FORMULA, FLAG_LONG, FLAG_SHORT, MAX_EXAMPLES } from './rows';

export interface Session {
  file: Blob;
  fileName: string;
  sniffed: Sniffed;
  header: string[];
  /** Byte span of the header record (content only, and with its terminator). */
  headerStart: number;
  map: ColumnMapping;
  nFeatures: number;
  rows: number;
  /** n+1 entries: byte offset of each data record; the last is the end of the last record. */
  rowStart: Float64Array;
  /** n entries: end of each record's content (before its line ending). */
  rowContentEnd: Float64Array;
  /** 1-based line of each data record. */
  rowLine: Int32Array;
  /** rows × nFeatures, row-major, NaN = missing. */
  matrix: Float32Array;
  /** 1 fail, 0 pass, -1 unknown / no label column. */
  labels: Int8Array;
  ids: string[] | null;
  rowFlags: Uint8Array;
  /** NaN = not scored. */
  probabilities: Float32Array;
  /** Every row has been scored (during the load, or by predict). Edits re-score their row only after that. */
  predicted: boolean;
  /** Parsed original fields of recently read rows (never the edits: those are in `edits`). */
  parsedRows: Map<number, string[]>;
  /** row → (col → text) for cells the user changed. */
  edits: Map<number, Map<number, string>>;
  orderCache: Map<RowOrder, Uint32Array>;
  /** The scores sorted for the results; null until first asked for, and again after a bulk change. */
  scoreIndex: ScoreIndex | null;
  decimalComma: boolean;
  /** Reads a label cell in the load's coding (an edited label is read the same way). */
  readLabel: (raw: string) => LabelValue;
  /** Per row: how many of the model's sensors have a reading (kept up to date by edits). */
  modelReadings: Uint16Array;
  /** Feature indices the model's trees use (Model.usedFeatures). */
  usedFeatures: number[];
  /** The user chose to score and count low-coverage wafers; otherwise their probability stays NaN. */
  scoreLowCoverage: boolean;
  /** Fields of the widest record, the header included: the download pads every record to it. */
  widestRow: number;
  /** The load's report; never changed afterwards. */
  summary: LoadSummary;
}

/**
 * Rows whose parsed fields are kept (about 20 KB each at 590 sensors): more than a grid window, so the refetch
 * that follows every edit, and scrolling back and forth, read nothing from the file again.
 */
const PARSED_ROWS_KEPT = 512;

/** The original fields of the given data rows (sorted ascending), from the cache or read from the file; shared, never to be changed. */
export async function readRowFields(s: Session, rows: number[]): Promise<string[][]> {
  const result: string[][] = new Array<string[]>(rows.length);
  const missing: number[] = [];
  rows.forEach((r, k) => {
    const kept = s.parsedRows.get(r);
    if (kept) result[k] = kept;
    else missing.push(k);
  });
  // Group consecutive rows into one read.
  let i = 0;
  while (i < missing.length) {
    let j = i;
    while (j + 1 < missing.length && rows[missing[j + 1] as number] === (rows[missing[j] as number] as number) + 1) j++;
    const base = s.rowStart[rows[missing[i] as number] as number] as number;
    const bytes = await readBytes(s.file, base, s.rowContentEnd[rows[missing[j] as number] as number] as number);
    for (let m = i; m <= j; m++) {
      const k = missing[m] as number;
      const r = rows[k] as number;
      const text = decodeUtf8(bytes.subarray((s.rowStart[r] as number) - base, (s.rowContentEnd[r] as number) - base), s.rowLine[r]);
      result[k] = keepParsedRow(s, r, parseText(text, 1, s.sniffed.delimiter, '\n', undefined, 0)[0] ?? ['']);
    }
    i = j + 1;
  }
  return result;
}

function keepParsedRow(s: Session, row: number, fields: string[]): string[] {
  s.parsedRows.set(row, fields);
  // A Map iterates in insertion order: the first key is the row kept longest.
  if (s.parsedRows.size > PARSED_ROWS_KEPT) s.parsedRows.delete(s.parsedRows.keys().next().value as number);
  return fields;
}

/** Row permutation for an order; cached, the probability orders until probabilities change. */
export function orderPermutation(s: Session, order: RowOrder): Uint32Array {
  const cached = s.orderCache.get(order);
  if (cached) return cached;
  const n = s.rows;
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  if (order !== 'file') {
    const p = s.probabilities;
    const sign = order === 'probability-desc' ? -1 : 1;
    perm.sort((a, b) => {
      const pa = p[a] as number;
      const pb = p[b] as number;
      const na = Number.isNaN(pa);
      const nb = Number.isNaN(pb);
      if (na || nb) return na === nb ? a - b : na ? 1 : -1;
      return pa === pb ? a - b : sign * (pa - pb);
    });
  }
  s.orderCache.set(order, perm);
  return perm;
}

/** Probabilities changed: the orders by probability must be sorted again (file order stays). */
function forgetProbabilityOrders(s: Session): void {
  s.orderCache.delete('probability-desc');
  s.orderCache.delete('probability-asc');
}

/** The rows at positions [start, start + count) of an order, with the cells of columns [colStart, colStart + colCount). */
export async function windowRows(s: Session, req: WindowRequest): Promise<{ start: number; rows: WindowRow[] }> {
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
  return { start, rows: rowIdx.map((r) => windowRow(s, r, byRow.get(r) ?? [], colStart, colEnd)) };
}

function windowRow(s: Session, r: number, fields: string[], colStart: number, colEnd: number): WindowRow {
  const out = newCellOut();
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
  const p = s.probabilities[r] as number;
  return { row: r, name: waferName(s, r), cells, issueCols, editedCols, probability: Number.isNaN(p) ? null : p, modelReadings: s.modelReadings[r] as number };
}

/** The id column's text (edits applied), else "Row N" (1-based). */
export function waferName(s: Session, r: number): string {
  const idCol = s.map.idColumn;
  const idText = idCol !== null ? (s.edits.get(r)?.get(idCol) ?? s.ids?.[r] ?? '') : '';
  return idText.trim() !== '' ? idText : `Row ${r + 1}`;
}

/** The wafer has readings for too few of the sensors the model uses (workers/format.ts isLowCoverage). */
function hasLowCoverage(s: Session, r: number): boolean {
  return isLowCoverage(s.modelReadings[r] as number, s.usedFeatures.length);
}

/** The row's probability is withheld: low coverage, and the user has not chosen to score such wafers. */
function withheld(s: Session, r: number): boolean {
  return !s.scoreLowCoverage && hasLowCoverage(s, r);
}

/**
 * Apply edits in order (a later edit of the same cell wins) and re-score the wafers whose readings changed, once
 * each and in one batch. Edits must be in range (the engine checks). Returns one update per edit.
 */
export async function applyEdits(s: Session, model: Model, edits: CellEdit[]): Promise<CellUpdate[]> {
  // A few edits shift values in the sorted scores; a big batch (a replay) rebuilds them once instead.
  if (edits.length > INCREMENTAL_EDITS) s.scoreIndex = null;
  const rows = [...new Set(edits.map((e) => e.row))].sort((a, b) => a - b);
  const fields = await readRowFields(s, rows);
  const original = new Map(rows.map((r, k) => [r, fields[k] as string[]]));
  const changed = new Set<number>();
  const updates = edits.map((e) => {
    const before = original.get(e.row)?.[e.col] ?? '';
    recordEdit(s, e, before);
    const issue = applyToRow(s, e);
    if (issue.readingChanged) changed.add(e.row);
    return { row: e.row, col: e.col, text: e.text, issue: issue.text, edited: e.text !== before };
  });
  if (s.predicted && changed.size > 0) await rescoreRows(s, model, [...changed]);
  return updates.map((u) => {
    const p = s.probabilities[u.row] as number;
    return { ...u, probability: Number.isNaN(p) ? null : p };
  });
}

/** Edits in one call up to which the score index is updated in place rather than rebuilt. */
const INCREMENTAL_EDITS = 32;

/** Keep the edit (or drop it when the text is back to the uploaded value). */
function recordEdit(s: Session, e: CellEdit, original: string): void {
  let rowEdits = s.edits.get(e.row);
  if (e.text === original) {
    rowEdits?.delete(e.col);
    if (rowEdits && rowEdits.size === 0) s.edits.delete(e.row);
    return;
  }
  if (!rowEdits) {
    rowEdits = new Map();
    s.edits.set(e.row, rowEdits);
  }
  rowEdits.set(e.col, e.text);
}

/** Write the edit into the readings, labels or ids; says why the text is not a reading, if it is not one. */
function applyToRow(s: Session, e: CellEdit): { text: string | null; readingChanged: boolean } {
  const info = s.map.columns[e.col];
  if (info?.role === 'feature') {
    const fi = s.map.featureOfColumn[e.col] as number;
    if (fi >= 0) {
      const out = newCellOut();
      const k = classifyCell(e.text, s.decimalComma, out);
      s.matrix[e.row * s.nFeatures + fi] = k === CellKind.Number ? out.value : Number.NaN;
      s.modelReadings[e.row] = countModelReadings(s.matrix, e.row, s.nFeatures, s.usedFeatures);
    }
    return { text: cellIssueText(e.text, s.decimalComma), readingChanged: fi >= 0 };
  }
  if (info?.role === 'label') {
    const p = s.probabilities[e.row] as number;
    const y = s.readLabel(e.text);
    s.scoreIndex?.change({ p, y: s.labels[e.row] as number }, { p, y });
    s.labels[e.row] = y;
  } else if (info?.role === 'id' && s.ids) s.ids[e.row] = e.text;
  return { text: null, readingChanged: false };
}

async function rescoreRows(s: Session, model: Model, rows: number[]): Promise<void> {
  const nF = s.nFeatures;
  const batch = new Float32Array(rows.length * nF);
  rows.forEach((r, k) => batch.set(s.matrix.subarray(r * nF, (r + 1) * nF), k * nF));
  const probs = await model.score(batch, rows.length);
  rows.forEach((r, k) => {
    const y = s.labels[r] as number;
    const p = withheld(s, r) ? Number.NaN : (probs[k] as number);
    s.scoreIndex?.change({ p: s.probabilities[r] as number, y }, { p, y });
    s.probabilities[r] = p;
  });
  forgetProbabilityOrders(s);
}

/** The user's choice for low-coverage wafers: their rows are scored again (or blanked) by the same rule. */
export async function setLowCoverageScoring(s: Session, model: Model, include: boolean): Promise<boolean> {
  if (s.scoreLowCoverage === include) return false;
  s.scoreLowCoverage = include;
  if (!s.predicted) return true;
  const rows: number[] = [];
  for (let r = 0; r < s.rows; r++) if (hasLowCoverage(s, r)) rows.push(r);
  // Many rows: rebuilding the score index once is cheaper than shifting it per row.
  if (rows.length > INCREMENTAL_EDITS) s.scoreIndex = null;
  if (rows.length > 0) await rescoreRows(s, model, rows);
  return true;
}

/** Score every row (predict); `onRows` is called between batches with the rows done. */
export async function scoreAll(s: Session, model: Model, onRows: (done: number) => void | Promise<void>): Promise<void> {
  const probs = await model.score(s.matrix, s.rows, onRows);
  if (!s.scoreLowCoverage) withholdLowCoverage(probs, s.modelReadings, s.usedFeatures.length);
  s.probabilities.set(probs);
  s.predicted = true;
  forgetProbabilityOrders(s);
  s.scoreIndex = null;
}

/** Counts and metrics at a threshold; null while nothing is scored. */
export function resultsAt(s: Session, threshold: number): ResultsSummary | null {
  if (!s.predicted) return null;
  s.scoreIndex ??= ScoreIndex.build(s.probabilities, s.labels);
  const labelled = s.summary.label !== null && s.summary.label.coding !== 'unresolved';
  return { ...s.scoreIndex.resultsAt(s.probabilities, threshold, labelled), ...lowCoverageAt(s) };
}

/** The low-coverage wafers: a pass over one small array per call (≈ 1 ms per million rows). */
function lowCoverageAt(s: Session): Pick<ResultsSummary, 'modelSensors' | 'lowCoverage' | 'lowCoverageScored' | 'lowCoverageWafers'> {
  const modelSensors = s.usedFeatures.length;
  const wafers: ResultsSummary['lowCoverageWafers'] = [];
  let lowCoverage = 0;
  for (let r = 0; r < s.rows; r++) {
    if (!hasLowCoverage(s, r)) continue;
    lowCoverage++;
    if (wafers.length < MAX_EXAMPLES) wafers.push({ row: r, name: waferName(s, r), readings: s.modelReadings[r] as number });
  }
  return { modelSensors, lowCoverage, lowCoverageScored: s.scoreLowCoverage, lowCoverageWafers: wafers };
}
