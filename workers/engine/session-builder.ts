/**
 * Builds a Session's row buffers while a file loads: rows arrive in file order (from the parse workers or this
 * thread), are appended to growing typed arrays and scored in batches as they come, so that little is left to
 * score once the last slice is parsed.
 */
import type { CellIssue, LabelValueCount, RowShapeIssue } from '../api';
import { countOutOfRange } from './drift';
import type { CancelToken } from './errors';
import { formatCount, isLowCoverage } from '../format';
import { bytesPerRow, MAX_RESIDENT_BYTES, maxRows, tooLarge } from './memory-plan';
import type { Model } from './model';
import { addCounts, emptyCounts, LabelValueCounter, MAX_EXAMPLES, type RowCounts, type RowsChunk } from './rows';

/** Rows are scored during the load as soon as this many are ready (in Model.score batches). */
const LOAD_SCORE_ROWS = 1000;

/**
 * Where a run of rows came from: the record offsets of its split batch or range (the bytes themselves are not
 * kept). `lines` is null for a range: its records are one line each, numbered from the line its rows are filed at.
 */
export interface BatchMeta {
  offset: number;
  starts: number[];
  contentEnds: number[];
  ends: number[];
  lines: number[] | null;
}

/** The per-row arrays, `cap` rows long; the builder hands out views of the first `rows`. */
export interface RowBuffers {
  cap: number;
  /** cap × nFeatures, row-major, NaN = missing. */
  matrix: Float32Array;
  /** 1 fail, 0 pass, -1 unknown / no label column. */
  labels: Int8Array;
  rowFlags: Uint8Array;
  /** cap + 1 entries: byte offset of each data record; entry `rows` is the end of the last record. */
  rowStart: Float64Array;
  /** End of each record's content (before its line ending). */
  rowContentEnd: Float64Array;
  /** 1-based line of each data record. */
  rowLine: Int32Array;
  /** NaN = not scored. */
  probabilities: Float32Array;
  /** Per row: how many of the sensors the model uses have a reading. */
  modelReadings: Uint16Array;
  /** Per row: how many of them read outside the training p01–p99 range. */
  outOfRange: Uint16Array;
}

/** The rows of a finished load, each array exactly `rows` long (rowStart one more). */
export interface BuiltRows extends Omit<RowBuffers, 'cap'> {
  rows: number;
  ids: string[] | null;
  /** Whether every row was scored during the load. */
  scored: boolean;
  counts: RowCounts;
  labelValues: LabelValueCount[];
  moreLabelValues: boolean;
  cellIssues: CellIssue[];
  rowShapeIssues: RowShapeIssue[];
  /** Fields of the widest row. */
  widestRow: number;
  /** 1-based lines of the first lines of only delimiters. */
  delimiterOnlyExamples: number[];
}

/** New buffers of `cap` rows holding the first `used` rows of `old`. */
function allocate(cap: number, nF: number, fileBytes: number, old?: RowBuffers, used = 0): RowBuffers {
  if (cap > maxRows(nF)) tooLarge(fileBytes, `about ${formatCount(cap)} rows`, cap, nF, null);
  try {
    const b: RowBuffers = {
      cap,
      matrix: new Float32Array(cap * nF),
      labels: new Int8Array(cap),
      rowFlags: new Uint8Array(cap),
      rowStart: new Float64Array(cap + 1),
      rowContentEnd: new Float64Array(cap),
      rowLine: new Int32Array(cap),
      probabilities: new Float32Array(cap),
      modelReadings: new Uint16Array(cap),
      outOfRange: new Uint16Array(cap),
    };
    // No NaN fill for the matrix: addRows writes every row whole (a chunk's rows are NaN where a reading is
    // missing), and rows past `used` are never read. Untouched pages of the big buffer are not even resident.
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
      b.modelReadings.set(old.modelReadings.subarray(0, used));
      b.outOfRange.set(old.outOfRange.subarray(0, used));
    }
    return b;
  } catch (e) {
    if (e instanceof RangeError) tooLarge(fileBytes, `about ${formatCount(cap)} rows`, cap, nF, e);
    throw e;
  }
}

/** How many of the model's sensors have a reading in one row of a rows × nF matrix. */
export function countModelReadings(matrix: Float32Array, row: number, nF: number, usedFeatures: number[]): number {
  const base = row * nF;
  let readings = 0;
  for (const f of usedFeatures) if (!Number.isNaN(matrix[base + f] as number)) readings++;
  return readings;
}

/** Blank the probabilities of low-coverage rows: they are not counted as flagged or OK (see isLowCoverage). */
export function withholdLowCoverage(probs: Float32Array, modelReadings: Uint16Array, modelSensors: number): void {
  for (let i = 0; i < probs.length; i++) if (isLowCoverage(modelReadings[i] as number, modelSensors)) probs[i] = Number.NaN;
}

export interface BuilderOptions {
  model: Model;
  fileBytes: number;
  /** Rows expected (an estimate from the first slice): the first allocation. */
  estimatedRows: number;
  /** Score rows as they arrive (false while the column mapping waits for the user's consent). */
  scoreDuringLoad: boolean;
  /** Collect each row's id text. */
  withIds: boolean;
  token: CancelToken;
}

export class SessionBuilder {
  private buf: RowBuffers;
  private readonly nF: number;
  private readonly ids: string[] | null;
  private readonly counts = emptyCounts();
  private readonly labelValues = new LabelValueCounter();
  private readonly cellIssues: CellIssue[] = [];
  private readonly rowShapeIssues: RowShapeIssue[] = [];
  private readonly delimiterOnlyExamples: number[] = [];
  private scoredUpTo = 0;
  private lastEnd = 0;
  private widestRow = 0;
  /** Rows added so far. */
  rows = 0;

  constructor(private readonly opts: BuilderOptions) {
    this.nF = opts.model.nFeatures;
    this.ids = opts.withIds ? [] : null;
    this.buf = allocate(Math.max(16, opts.estimatedRows), this.nF, opts.fileBytes);
  }

  /**
   * Append converted rows (growing the buffers when needed) and add up their counts. `lineBase` is the line of
   * the first record of a range (meta.lines null); issue lines from a range are relative to it.
   */
  addRows(meta: BatchMeta, c: RowsChunk, lineBase: number): void {
    for (const line of c.delimiterOnlyExamples) {
      if (this.delimiterOnlyExamples.length >= MAX_EXAMPLES) break;
      this.delimiterOnlyExamples.push(meta.lines ? line : lineBase + line);
    }
    if (c.rows === 0) {
      this.counts.delimiterOnlyLines += c.delimiterOnlyLines;
      return;
    }
    const n = this.rows;
    if (n + c.rows > this.buf.cap) this.grow(n + c.rows);
    const b = this.buf;
    b.matrix.set(c.matrix, n * this.nF);
    b.labels.set(c.labels, n);
    b.rowFlags.set(c.flags, n);
    for (let i = 0; i < c.rows; i++) {
      const r = c.records[i] as number;
      b.rowStart[n + i] = meta.offset + (meta.starts[r] as number);
      b.rowContentEnd[n + i] = meta.offset + (meta.contentEnds[r] as number);
      b.rowLine[n + i] = meta.lines ? (meta.lines[r] as number) : lineBase + r;
    }
    const { usedFeatures, bounds } = this.opts.model;
    for (let i = n; i < n + c.rows; i++) {
      b.modelReadings[i] = countModelReadings(b.matrix, i, this.nF, usedFeatures);
      b.outOfRange[i] = countOutOfRange(b.matrix, i, this.nF, usedFeatures, bounds);
    }
    this.lastEnd = meta.offset + (meta.ends[c.records[c.rows - 1] as number] as number);
    if (this.ids && c.ids) for (const id of c.ids) this.ids.push(id);
    addCounts(this.counts, c);
    this.labelValues.merge(c.labelValues, c.moreLabelValues);
    this.widestRow = Math.max(this.widestRow, c.widestRow);
    for (const x of c.cellIssues) {
      if (this.cellIssues.length >= MAX_EXAMPLES) break;
      this.cellIssues.push({ ...x, row: x.row + n });
    }
    for (const x of c.rowShapeIssues) {
      if (this.rowShapeIssues.length >= MAX_EXAMPLES) break;
      this.rowShapeIssues.push({ ...x, row: x.row + n, line: meta.lines ? x.line : lineBase + x.line });
    }
    this.rows = n + c.rows;
  }

  /**
   * Grow straight to the budget: untouched rows cost no memory, so one copy is all a load ever makes. The copy
   * holds the rows twice for a moment; past MAX_RESIDENT_BYTES that could take the tab down, so it is refused.
   */
  private grow(need: number): void {
    const cap = Math.max(need, maxRows(this.nF));
    if (cap > maxRows(this.nF)) tooLarge(this.opts.fileBytes, `more than ${formatCount(maxRows(this.nF))} rows`, cap, this.nF, null);
    if (2 * this.rows * bytesPerRow(this.nF) > MAX_RESIDENT_BYTES) tooLarge(this.opts.fileBytes, `more than ${formatCount(this.rows)} rows`, this.rows, this.nF, null);
    this.buf = allocate(cap, this.nF, this.opts.fileBytes, this.buf, this.rows);
  }

  /** Score the rows not scored yet: whole batches of LOAD_SCORE_ROWS, or (`all`) every one. */
  async scorePending(all: boolean): Promise<void> {
    if (!this.opts.scoreDuringLoad) return;
    // The session is still being created: keep reading; finish() scores everything once it is there.
    if (!all && !this.opts.model.canScore) return;
    const from = this.scoredUpTo;
    const upto = all ? this.rows : from + Math.floor((this.rows - from) / LOAD_SCORE_ROWS) * LOAD_SCORE_ROWS;
    if (upto <= from) return;
    const b = this.buf;
    const { token } = this.opts;
    const probs = await this.opts.model.score(b.matrix.subarray(from * this.nF, upto * this.nF), upto - from, () => token.throwIfCancelled());
    withholdLowCoverage(probs, b.modelReadings.subarray(from, upto), this.opts.model.usedFeatures.length);
    b.probabilities.set(probs, from);
    this.scoredUpTo = upto;
  }

  /** Score what is left and hand out the rows, each array cut to the rows loaded. */
  async finish(): Promise<BuiltRows> {
    await this.scorePending(true);
    const n = this.rows;
    const b = this.buf;
    b.rowStart[n] = this.lastEnd;
    return {
      rows: n,
      matrix: b.matrix.subarray(0, n * this.nF),
      labels: b.labels.subarray(0, n),
      rowFlags: b.rowFlags.subarray(0, n),
      rowStart: b.rowStart.subarray(0, n + 1),
      rowContentEnd: b.rowContentEnd.subarray(0, n),
      rowLine: b.rowLine.subarray(0, n),
      probabilities: b.probabilities.subarray(0, n),
      modelReadings: b.modelReadings.subarray(0, n),
      outOfRange: b.outOfRange.subarray(0, n),
      ids: this.ids,
      scored: this.opts.scoreDuringLoad,
      counts: this.counts,
      labelValues: this.labelValues.values(),
      moreLabelValues: this.labelValues.more,
      cellIssues: this.cellIssues,
      rowShapeIssues: this.rowShapeIssues,
      widestRow: this.widestRow,
      delimiterOnlyExamples: this.delimiterOnlyExamples,
    };
  }
}
