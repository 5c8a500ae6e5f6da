/**
 * Complete CSV records → readings rows. The one piece of code that turns the bytes of a run of complete records
 * into Float32Array rows, labels, ids, row flags and the issue counts / examples; it runs in the engine worker
 * (in-process path: Node, tests, no nested Worker) and in the parse workers (`workers/parse.worker.ts`), so both
 * paths give identical results.
 */
import type { CellIssue, LabelValueCount, RowShapeIssue } from '../api';
import { isBlankRecord, isDelimiterOnlyRecord, parseBatchRecords, type Delimiter, type LineEnding, type SplitBatch } from './csv';
import { CellKind, classifyCell, isFormulaLike, isNumberInOtherFormat, labelKey, makeChosenLabelReader, makeLabelReader, newCellOut, parseSimpleDecimal } from './validate';

export const MAX_EXAMPLES = 200;
/** Distinct label values kept per load: enough for any coding; a column with more is no label column. */
export const MAX_LABEL_VALUES = 50;
/** rowFlags bit: the row has a formula-like text cell (export re-serializes it). */
export const FLAG_FORMULA = 1;
/** rowFlags bit: the row has fewer fields than the header. */
export const FLAG_SHORT = 2;
/** rowFlags bit: the row has more fields than the header. */
export const FLAG_LONG = 4;

/** What the conversion needs to know about the file and the column mapping (structured-clonable). */
export interface RowsConfig {
  delimiter: Delimiter;
  lineEnding: LineEnding;
  decimalComma: boolean;
  nFeatures: number;
  /** Header field count. */
  ncol: number;
  /** Per file column: feature index, or -1. */
  featureOfColumn: number[];
  labelColumn: number | null;
  idColumn: number | null;
  failValues: string[];
  passValues: string[];
  /** The user's label coding: this value means fail, any other pass (failValues/passValues then unused). */
  chosenFailValue?: string;
}

/** The bytes of complete records: the SplitBatch fields the parse needs (offsets relative to `bytes`). */
export type RecordsJob = Pick<SplitBatch, 'bytes' | 'starts' | 'contentEnds' | 'ends' | 'lines' | 'mixed'>;

/** What a load counts over its rows: per chunk, then summed over the chunks by the session. */
export interface RowCounts {
  missingCells: number;
  cellIssueCount: number;
  nonFiniteCount: number;
  formulaLikeCells: number;
  decimalCommaCells: number;
  /** Readings with a point between digit groups, read as a thousands separator (decimal-comma format). */
  thousandsPointCells: number;
  /** Cells that are not readings in the file's number format but would be in the other one. */
  otherFormatCells: number;
  fails: number;
  passes: number;
  unknown: number;
  rowShapeIssueCount: number;
  /** Non-empty fields past the header's width (0 when rows are long only by trailing delimiters). */
  extraFilledFields: number;
  /** Lines of only delimiters (no reading, no name): not rows. */
  delimiterOnlyLines: number;
}

export function emptyCounts(): RowCounts {
  return {
    missingCells: 0,
    cellIssueCount: 0,
    nonFiniteCount: 0,
    formulaLikeCells: 0,
    decimalCommaCells: 0,
    thousandsPointCells: 0,
    otherFormatCells: 0,
    fails: 0,
    passes: 0,
    unknown: 0,
    rowShapeIssueCount: 0,
    extraFilledFields: 0,
    delimiterOnlyLines: 0,
  };
}

export function addCounts(into: RowCounts, from: RowCounts): void {
  for (const key of Object.keys(into) as (keyof RowCounts)[]) into[key] += from[key];
}

/** Rows converted from records [from, to) of a job; row indices in the examples are relative to the first row. */
export interface RowsChunk extends RowCounts {
  rows: number;
  /** Per row: index (in the job) of the record it came from (blank records are not rows). */
  records: Uint32Array;
  /** rows × nFeatures, NaN = missing. */
  matrix: Float32Array;
  labels: Int8Array;
  flags: Uint8Array;
  ids: string[] | null;
  cellIssues: CellIssue[];
  rowShapeIssues: RowShapeIssue[];
  /** The distinct label values (at most MAX_LABEL_VALUES) and whether there were more. */
  labelValues: LabelValueCount[];
  moreLabelValues: boolean;
  /** Fields of the widest row (0 when there is none). */
  widestRow: number;
  /** The first (≤ MAX_EXAMPLES) lines of only delimiters, numbered like the row shape issues' lines. */
  delimiterOnlyExamples: number[];
}

/** A config's label reader, built once per config object. */
const labelReaders = new WeakMap<RowsConfig, (raw: string) => number>();
function labelReader(cfg: RowsConfig): (raw: string) => number {
  let r = labelReaders.get(cfg);
  if (!r) {
    r = cfg.chosenFailValue !== undefined ? makeChosenLabelReader(cfg.chosenFailValue) : makeLabelReader(cfg.failValues, cfg.passValues);
    labelReaders.set(cfg, r);
  }
  return r;
}

/** Papa-parse records [from, to) of `job` (one call, as the loader always did) and convert them to rows. */
export function recordsToRows(job: RecordsJob, from: number, to: number, cfg: RowsConfig): RowsChunk {
  const batch: SplitBatch = { ...job, offset: 0, bytesRead: 0 };
  const records = parseBatchRecords(batch, from, to, cfg.delimiter, cfg.lineEnding);
  return fieldsToRows(job, records, from, to, cfg);
}

/**
 * Convert already-parsed records (`fields[r - from]` for record r of `job`) to rows; blank records and records of
 * only delimiters are skipped (the latter counted).
 */
export function fieldsToRows(job: RecordsJob, fieldsOf: string[][], from: number, to: number, cfg: RowsConfig): RowsChunk {
  let rows = 0;
  const keep = new Uint32Array(Math.max(0, to - from));
  let delimiterOnlyLines = 0;
  const delimiterOnlyExamples: number[] = [];
  for (let r = from; r < to; r++) {
    const start = job.starts[r] as number;
    const end = job.contentEnds[r] as number;
    if (isBlankRecord(job.bytes, start, end)) continue;
    if (isDelimiterOnlyRecord(job.bytes, start, end, cfg.delimiter)) {
      delimiterOnlyLines++;
      if (delimiterOnlyExamples.length < MAX_EXAMPLES) delimiterOnlyExamples.push(job.lines[r] as number);
      continue;
    }
    keep[rows++] = r;
  }
  const nF = cfg.nFeatures;
  const ncol = cfg.ncol;
  const matrix = new Float32Array(rows * nF).fill(Number.NaN);
  const labels = new Int8Array(rows).fill(-1);
  const flagsOut = new Uint8Array(rows);
  const ids: string[] | null = cfg.idColumn !== null ? [] : null;
  const cellIssues: CellIssue[] = [];
  const rowShapeIssues: RowShapeIssue[] = [];
  // Plain locals, not a RowCounts object: this loop runs once per cell (59 M times for 100k wafers).
  let missingCells = 0;
  let cellIssueCount = 0;
  let nonFiniteCount = 0;
  let rowShapeIssueCount = 0;
  let formulaLikeCells = 0;
  let decimalCommaCells = 0;
  let thousandsPointCells = 0;
  let otherFormatCells = 0;
  let fails = 0;
  let passes = 0;
  let unknown = 0;
  let extraFilledFields = 0;
  let widestRow = 0;
  const decimalComma = cfg.decimalComma;
  const fc = cfg.featureOfColumn;
  const labelColumn = cfg.labelColumn;
  const readLabel = labelReader(cfg);
  const out = newCellOut();
  const labelValues = new LabelValueCounter();
  for (let n = 0; n < rows; n++) {
    const r = keep[n] as number;
    const fields = fieldsOf[r - from] as string[];
    const line = job.lines[r] as number;
    let flags = 0;
    if (fields.length !== ncol) {
      rowShapeIssueCount++;
      if (rowShapeIssues.length < MAX_EXAMPLES) rowShapeIssues.push({ row: n, line, fields: fields.length, expected: ncol });
      if (fields.length < ncol) flags |= FLAG_SHORT;
      else {
        flags |= FLAG_LONG;
        for (let c = ncol; c < fields.length; c++) if ((fields[c] as string).length > 0) extraFilledFields++;
      }
    }
    if (fields.length > widestRow) widestRow = fields.length;
    const base = n * nF;
    const m = Math.min(fields.length, ncol);
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
        if (!decimalComma) {
          const v = parseSimpleDecimal(raw, len);
          if (v === v) {
            matrix[base + fi] = v;
            continue;
          }
        }
        const kind = classifyCell(raw, decimalComma, out);
        if (kind === CellKind.Number) {
          matrix[base + fi] = out.value;
          if (out.decimalComma) decimalCommaCells++;
          if (out.thousandsPoint) thousandsPointCells++;
        } else if (kind === CellKind.Missing) missingCells++;
        else {
          cellIssueCount++;
          if (kind === CellKind.NonFinite) nonFiniteCount++;
          else if (isNumberInOtherFormat(raw, decimalComma)) otherFormatCells++;
          if (cellIssues.length < MAX_EXAMPLES) cellIssues.push({ row: n, col: c, raw });
          if (kind === CellKind.Text && isFormulaLike(raw)) {
            formulaLikeCells++;
            flags |= FLAG_FORMULA;
          }
        }
      } else {
        if (c === labelColumn) {
          const y = readLabel(raw);
          labels[n] = y;
          labelValues.add(raw);
          if (y === 1) fails++;
          else if (y === 0) passes++;
          else unknown++;
        }
        if (raw.length > 0) {
          const c0 = raw.charCodeAt(0);
          if ((c0 === 61 || c0 === 43 || c0 === 45 || c0 === 64 || c0 === 9 || c0 === 13) && isFormulaLike(raw)) {
            formulaLikeCells++;
            flags |= FLAG_FORMULA;
          }
        }
      }
    }
    // Fields absent from a short row: missing readings for the features they would have fed.
    for (let c = fields.length; c < ncol; c++) if ((fc[c] as number) >= 0) missingCells++;
    if (labelColumn !== null && labelColumn >= fields.length) unknown++;
    if (ids) ids.push(cfg.idColumn !== null && cfg.idColumn < fields.length ? (fields[cfg.idColumn] as string) : '');
    flagsOut[n] = flags;
  }
  return {
    rows,
    records: keep.subarray(0, rows),
    matrix,
    labels,
    flags: flagsOut,
    ids,
    missingCells,
    cellIssueCount,
    nonFiniteCount,
    formulaLikeCells,
    decimalCommaCells,
    thousandsPointCells,
    otherFormatCells,
    fails,
    passes,
    unknown,
    rowShapeIssueCount,
    extraFilledFields,
    delimiterOnlyLines,
    cellIssues,
    rowShapeIssues,
    labelValues: labelValues.values(),
    moreLabelValues: labelValues.more,
    widestRow,
    delimiterOnlyExamples,
  };
}

/** Counts the distinct label values (compared as labelKey does), keeping each one's first spelling. */
export class LabelValueCounter {
  private readonly byKey = new Map<string, LabelValueCount>();
  more = false;

  add(raw: string, rows = 1): void {
    const key = labelKey(raw);
    if (key === '') return;
    const known = this.byKey.get(key);
    if (known) known.rows += rows;
    else if (this.byKey.size < MAX_LABEL_VALUES) this.byKey.set(key, { value: raw.trim(), rows });
    else this.more = true;
  }

  merge(values: LabelValueCount[], more: boolean): void {
    for (const v of values) this.add(v.value, v.rows);
    this.more ||= more;
  }

  /** Most frequent first; ties in the order first seen. */
  values(): LabelValueCount[] {
    return [...this.byKey.values()].sort((a, b) => b.rows - a.rows);
  }
}

/** The buffers of a chunk, for postMessage's transfer list. */
export function chunkTransfer(c: RowsChunk): ArrayBuffer[] {
  return [c.matrix.buffer as ArrayBuffer, c.labels.buffer as ArrayBuffer, c.flags.buffer as ArrayBuffer, c.records.buffer as ArrayBuffer];
}
