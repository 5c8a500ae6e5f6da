/**
 * The state kept for one loaded file, and the streaming loader that builds it. A load builds a new Session;
 * the engine swaps it in only on success.
 */
import type { CellIssue, LabelReport, LoadSummary, ProgressCallback, RowOrder, RowShapeIssue } from '../api';
import { mapColumns, type ColumnMapping } from './columns';
import {
  DEFAULT_SLICE_SIZE,
  SNIFF_BYTES,
  decodeUtf8,
  isBlankRecord,
  parseBatchRecords,
  parseText,
  readBytes,
  sniff,
  splitRecords,
  yieldToEventLoop,
  type Sniffed,
} from './csv';
import { CancelToken, EngineFailure, fail, formatBytes } from './errors';
import type { Model } from './model';
import { SCORE_BATCH_ROWS } from './model';
import { CellKind, classifyCell, isFormulaLike, makeLabelReader, parseSimpleDecimal, type CellOut } from './validate';

export const MAX_EXAMPLES = 200;
/** rowFlags bit: the row has a formula-like text cell (export re-serializes it). */
export const FLAG_FORMULA = 1;
/** rowFlags bit: the row has fewer fields than the header. */
export const FLAG_SHORT = 2;

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
  predicted: boolean;
  /** row → (col → text) for cells the user changed. */
  edits: Map<number, Map<number, string>>;
  orderCache: Map<RowOrder, Uint32Array>;
  decimalComma: boolean;
  summary: LoadSummary;
}

interface Buffers {
  cap: number;
  matrix: Float32Array;
  labels: Int8Array;
  rowFlags: Uint8Array;
  rowStart: Float64Array;
  rowContentEnd: Float64Array;
  rowLine: Int32Array;
  probabilities: Float32Array;
}

/**
 * Most the readings matrix (rows × features × 4 bytes) may take. Checked on the row estimate before allocating, so
 * a file that cannot fit fails with a message instead of taking the tab down; a RangeError from an allocation
 * below this budget is reported the same way.
 */
export const MAX_READINGS_BYTES = 4 * 1024 ** 3;

function tooLarge(fileBytes: number, rows: number, nF: number, e: unknown): never {
  const need = rows * nF * 4;
  const why = e === null ? `more than the ${formatBytes(MAX_READINGS_BYTES)} this page allows` : `and the browser could not allocate that (${e instanceof Error ? e.message : String(e)})`;
  throw new EngineFailure(
    'too-large',
    `This file is too large for this browser's memory: ${formatBytes(fileBytes)}, about ${rows.toLocaleString('en-US')} rows, ` +
      `needs about ${formatBytes(need)} for its readings, ${why}. ` +
      'Split the file into smaller parts and upload them one at a time.',
  );
}

function allocate(cap: number, nF: number, fileBytes: number, old?: Buffers, used = 0): Buffers {
  if (cap * nF * 4 > MAX_READINGS_BYTES) tooLarge(fileBytes, cap, nF, null);
  try {
    const b: Buffers = {
      cap,
      matrix: new Float32Array(cap * nF),
      labels: new Int8Array(cap),
      rowFlags: new Uint8Array(cap),
      rowStart: new Float64Array(cap + 1),
      rowContentEnd: new Float64Array(cap),
      rowLine: new Int32Array(cap),
      probabilities: new Float32Array(cap),
    };
    b.matrix.fill(Number.NaN, used * nF);
    b.labels.fill(-1, used);
    b.probabilities.fill(Number.NaN, used);
    if (old) {
      b.matrix.set(old.matrix.subarray(0, used * nF));
      b.labels.set(old.labels.subarray(0, used));
      b.rowFlags.set(old.rowFlags.subarray(0, used));
      b.rowStart.set(old.rowStart.subarray(0, used));
      b.rowContentEnd.set(old.rowContentEnd.subarray(0, used));
      b.rowLine.set(old.rowLine.subarray(0, used));
      b.probabilities.set(old.probabilities.subarray(0, used));
    }
    return b;
  } catch (e) {
    if (e instanceof RangeError) tooLarge(fileBytes, cap, nF, e);
    throw e;
  }
}

export interface LoadOptions {
  fileName: string;
  token: CancelToken;
  onProgress?: ProgressCallback | undefined;
  sliceSize?: number | undefined;
}

/** Stream-parse `file` into a new Session; scores rows while parsing when the mapping needs no consent. */
export async function loadSession(file: Blob, model: Model, opts: LoadOptions): Promise<Session> {
  const { token } = opts;
  const size = file.size;
  const head = await readBytes(file, 0, Math.min(size, SNIFF_BYTES));
  const sn = sniff(head, size);
  const nF = model.nFeatures;
  const decimalComma = sn.delimiter === ';';
  const readLabel = makeLabelReader(model.json.label.fail_values, model.json.label.pass_values);

  let header: string[] | null = null;
  let headerStart = 0;
  let map: ColumnMapping | null = null;
  let buf: Buffers | null = null;
  let n = 0;
  let ids: string[] | null = null;
  let lastEnd = sn.dataStart;

  let missingCells = 0;
  let cellIssueCount = 0;
  const cellIssues: CellIssue[] = [];
  let nonFiniteCount = 0;
  let rowShapeIssueCount = 0;
  const rowShapeIssues: RowShapeIssue[] = [];
  let formulaLikeCells = 0;
  let decimalCommaCells = 0;
  let fails = 0;
  let passes = 0;
  let unknown = 0;
  let scoredUpTo = 0;
  const scoreDuringLoad = () => map !== null && !map.mapping.needsConsent;
  const out: CellOut = { value: 0, decimalComma: false };

  const scorePending = async (all: boolean) => {
    if (!buf || !scoreDuringLoad()) return;
    const upto = all ? n : scoredUpTo + Math.floor((n - scoredUpTo) / SCORE_BATCH_ROWS) * SCORE_BATCH_ROWS;
    if (upto <= scoredUpTo) return;
    const count = upto - scoredUpTo;
    const b = buf;
    const probs = await model.score(b.matrix.subarray(scoredUpTo * nF, upto * nF), count, () => token.throwIfCancelled());
    b.probabilities.set(probs, scoredUpTo);
    scoredUpTo = upto;
  };

  for await (const batch of splitRecords(file, { delimiter: sn.delimiter, lineEnding: sn.lineEnding, start: sn.dataStart, sliceSize: opts.sliceSize ?? DEFAULT_SLICE_SIZE })) {
    token.throwIfCancelled();
    const k = batch.starts.length;
    if (k > 0) {
      const records = parseBatchRecords(batch, 0, k, sn.delimiter, sn.lineEnding);
      for (let r = 0; r < k; r++) {
        const s = batch.starts[r] as number;
        const ce = batch.contentEnds[r] as number;
        if (isBlankRecord(batch.bytes, s, ce)) continue;
        const fields = records[r] as string[];
        if (header === null || map === null) {
          header = fields;
          headerStart = batch.offset + s;
          map = mapColumns(header, model.json);
          if (map.idColumn !== null) ids = [];
          // Estimate rows from the bytes of the records seen so far in this slice.
          const seenBytes = (batch.ends[k - 1] as number) - s;
          const perRecord = Math.max(1, seenBytes / Math.max(1, k - r));
          const estimate = Math.ceil(((size - (batch.offset + s)) / perRecord) * 1.1) + 16;
          buf = allocate(Math.max(16, estimate), nF, size);
          continue;
        }
        if (!buf) break;
        if (n >= buf.cap) buf = allocate(Math.max(n + 1, Math.min(Math.ceil(buf.cap * 1.5) + 16, Math.floor(MAX_READINGS_BYTES / (nF * 4)))), nF, size, buf, n);
        const b = buf;
        const line = batch.lines[r] as number;
        b.rowStart[n] = batch.offset + s;
        b.rowContentEnd[n] = batch.offset + ce;
        b.rowLine[n] = line;
        lastEnd = batch.offset + (batch.ends[r] as number);
        const ncol = header.length;
        let flags = 0;
        if (fields.length !== ncol) {
          rowShapeIssueCount++;
          if (rowShapeIssues.length < MAX_EXAMPLES) rowShapeIssues.push({ row: n, line, fields: fields.length, expected: ncol });
          if (fields.length < ncol) flags |= FLAG_SHORT;
        }
        const base = n * nF;
        const fc = map.featureOfColumn;
        const m = Math.min(fields.length, ncol);
        const matrix = b.matrix;
        for (let c = 0; c < fields.length; c++) {
          const raw = fields[c] as string;
          const fi = c < m ? (fc[c] as number) : -1;
          if (fi >= 0) {
            // Hot path (59M cells at 100k wafers): empty → missing, plain decimal → value; the rest is classified.
            const len = raw.length;
            if (len === 0) {
              missingCells++;
              continue;
            }
            const v = parseSimpleDecimal(raw, len);
            if (v === v) {
              matrix[base + fi] = v;
              continue;
            }
            const kind = classifyCell(raw, decimalComma, out);
            if (kind === CellKind.Number) {
              b.matrix[base + fi] = out.value;
              if (out.decimalComma) decimalCommaCells++;
            } else if (kind === CellKind.Missing) missingCells++;
            else {
              cellIssueCount++;
              if (kind === CellKind.NonFinite) nonFiniteCount++;
              if (cellIssues.length < MAX_EXAMPLES) cellIssues.push({ row: n, col: c, raw });
              if (kind === CellKind.Text && isFormulaLike(raw, decimalComma)) {
                formulaLikeCells++;
                flags |= FLAG_FORMULA;
              }
            }
          } else {
            if (c === map.labelColumn) {
              const y = readLabel(raw);
              b.labels[n] = y;
              if (y === 1) fails++;
              else if (y === 0) passes++;
              else unknown++;
            }
            if (raw.length > 0) {
              const c0 = raw.charCodeAt(0);
              if ((c0 === 61 || c0 === 43 || c0 === 45 || c0 === 64 || c0 === 9 || c0 === 13) && isFormulaLike(raw, decimalComma)) {
                formulaLikeCells++;
                flags |= FLAG_FORMULA;
              }
            }
          }
        }
        // Fields absent from a short row: missing readings for the features they would have fed.
        for (let c = fields.length; c < ncol; c++) if ((fc[c] as number) >= 0) missingCells++;
        if (map.labelColumn !== null && map.labelColumn >= fields.length) unknown++;
        if (ids) ids.push(map.idColumn !== null && map.idColumn < fields.length ? (fields[map.idColumn] as string) : '');
        b.rowFlags[n] = flags;
        n++;
      }
    }
    await scorePending(false);
    opts.onProgress?.({ phase: 'parse', done: batch.bytesRead, total: size });
    await yieldToEventLoop();
    token.throwIfCancelled();
  }
  if (header === null || map === null || buf === null) fail('empty-file', 'The file is empty (it contains only blank lines).');
  if (n === 0) fail('no-rows', `The file has a header row (${header.length} columns) but no data rows.`);
  buf.rowStart[n] = lastEnd;
  await scorePending(true);
  token.throwIfCancelled();

  // Only what no other summary field carries: row shapes, cell issues, formula-like cells and the column mapping
  // have their own fields, and the UI words them from there (so nothing is said twice).
  const notices: string[] = [];
  if (decimalCommaCells > 0) {
    notices.push(
      `${decimalCommaCells.toLocaleString('en-US')} ${decimalCommaCells === 1 ? 'reading uses' : 'readings use'} a decimal comma (e.g. 3,14) ` +
        `and ${decimalCommaCells === 1 ? 'was' : 'were'} read with a decimal point (3.14); the file is semicolon-separated.`,
    );
  }

  let label: LabelReport | null = null;
  if (map.labelColumn !== null) {
    label = { column: map.labelColumn, header: header[map.labelColumn] as string, fails, passes, unknown };
  }
  const summary: LoadSummary = {
    fileName: opts.fileName,
    bytes: size,
    rows: n,
    columns: map.columns,
    delimiter: sn.delimiter,
    hasBom: sn.hasBom,
    lineEnding: sn.lineEnding,
    idColumn: map.idColumn,
    mapping: map.mapping,
    label,
    cellIssueCount,
    nonFiniteCells: nonFiniteCount,
    cellIssues,
    rowShapeIssueCount,
    rowShapeIssues,
    missingCells,
    formulaLikeCells,
    notices,
    predicted: scoreDuringLoad(),
  };
  return {
    file,
    fileName: opts.fileName,
    sniffed: sn,
    header,
    headerStart,
    map,
    nFeatures: nF,
    rows: n,
    rowStart: buf.rowStart.subarray(0, n + 1),
    rowContentEnd: buf.rowContentEnd.subarray(0, n),
    rowLine: buf.rowLine.subarray(0, n),
    matrix: buf.matrix.subarray(0, n * nF),
    labels: buf.labels.subarray(0, n),
    ids,
    rowFlags: buf.rowFlags.subarray(0, n),
    probabilities: buf.probabilities.subarray(0, n),
    predicted: scoreDuringLoad(),
    edits: new Map(),
    orderCache: new Map(),
    decimalComma,
    summary,
  };
}

/** Parse the original fields of the given data rows (reads their bytes from the file). */
export async function readRowFields(s: Session, rows: number[]): Promise<string[][]> {
  const result: string[][] = new Array<string[]>(rows.length);
  // Group consecutive rows into one read.
  let i = 0;
  while (i < rows.length) {
    let j = i;
    while (j + 1 < rows.length && rows[j + 1] === (rows[j] as number) + 1) j++;
    const first = rows[i] as number;
    const last = rows[j] as number;
    const base = s.rowStart[first] as number;
    const bytes = await readBytes(s.file, base, s.rowContentEnd[last] as number);
    for (let k = i; k <= j; k++) {
      const r = rows[k] as number;
      const text = decodeUtf8(bytes.subarray((s.rowStart[r] as number) - base, (s.rowContentEnd[r] as number) - base), s.rowLine[r]);
      const parsed = parseText(text, 1, s.sniffed.delimiter, '\n', undefined, 0);
      result[k] = parsed[0] ?? [''];
    }
    i = j + 1;
  }
  return result;
}

/** Row permutation for an order; cached until probabilities change. */
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
