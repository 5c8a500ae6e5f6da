/**
 * The state kept for one loaded file, and the streaming loader that builds it. A load builds a new Session;
 * the engine swaps it in only on success.
 */
import type { CellIssue, LabelReport, LoadSummary, ProgressCallback, RowOrder, RowShapeIssue } from '../api';
import { mapColumns, type ColumnMapping } from './columns';
import {
  countLineBreaks,
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
import type { ParsePool } from './pool';
import type { RangeResult } from './ranges';
import { addCounts, emptyCounts, MAX_EXAMPLES, recordsToRows, type RecordsJob, type RowsChunk, type RowsConfig } from './rows';

export { FLAG_FORMULA, FLAG_SHORT, MAX_EXAMPLES } from './rows';

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
    // No NaN fill for the matrix: addRows writes every row whole (a chunk's rows are NaN where a reading is
    // missing), and rows past `n` are never read. Untouched pages of the big buffer are not even resident.
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
  /** Parse workers; without one (or when they cannot start) every slice is converted in this thread. */
  pool?: ParsePool | undefined;
}

/**
 * Slices read ahead while the parse workers run: with the parse off this thread, waiting for the next 1 MB read
 * became a large share of the load (the browser serves Blob reads from another process).
 */
const POOL_READ_AHEAD = 4;

/**
 * Rows are scored during the load as soon as this many are ready (in Model.score batches of at most
 * SCORE_BATCH_ROWS), so that little is left to score after the last slice is parsed.
 */
const LOAD_SCORE_ROWS = 1000;

/**
 * Ranges handed to the pool ahead of the one being filed (≈ 1 MB each). A worker starts a range's read when the
 * request arrives, so a few queued per worker keep reads ahead of conversion; 5 left the workers waiting on reads
 * (median 10k load 843 ms against 756 ms with 8, on a busy machine).
 */
const RANGES_IN_FLIGHT = 8;

/**
 * Where a run of rows came from: the record offsets of its split batch or range (the bytes themselves are not
 * kept). `lines` is null for a range: its records are one line each, numbered from the line its rows are filed at.
 */
interface BatchMeta {
  offset: number;
  starts: number[];
  contentEnds: number[];
  ends: number[];
  lines: number[] | null;
}

/** Converted rows on their way to the matrix, in file order; `chunk` is null for a slice without data rows. */
interface Pending {
  meta: BatchMeta;
  bytesRead: number;
  chunk: Promise<RowsChunk> | RowsChunk | null;
  /** The chunk is available (or its promise settled). */
  ready: boolean;
}

/** The header record and where the data records after it start. */
interface HeaderRecord {
  fields: string[];
  /** File offset of the header record, of the record after it, and that record's line. */
  start: number;
  dataStart: number;
  dataLine: number;
  /** Mean bytes per record over the header and the records after it in the first slice (for the row estimate). */
  bytesPerRecord: number;
}

/** Split the start of the file until its first non-blank record, the header; null when there is none. */
async function readHeader(file: Blob, sn: Sniffed, sliceSize: number): Promise<HeaderRecord | null> {
  for await (const batch of splitRecords(file, { delimiter: sn.delimiter, lineEnding: sn.lineEnding, start: sn.dataStart, sliceSize })) {
    const k = batch.starts.length;
    let r = 0;
    while (r < k && isBlankRecord(batch.bytes, batch.starts[r] as number, batch.contentEnds[r] as number)) r++;
    if (r === k) continue;
    const s = batch.starts[r] as number;
    const e = batch.ends[r] as number;
    return {
      fields: parseBatchRecords(batch, r, r + 1, sn.delimiter, sn.lineEnding)[0] as string[],
      start: batch.offset + s,
      dataStart: batch.offset + e,
      dataLine: (batch.lines[r] as number) + countLineBreaks(batch.bytes, s, e),
      bytesPerRecord: Math.max(1, ((batch.ends[k - 1] as number) - s) / (k - r)),
    };
  }
  return null;
}

/**
 * Stream-parse `file` into a new Session; scores rows while parsing when the mapping needs no consent.
 *
 * The header record is split and parsed here. With parse workers, the records after it are loaded in byte
 * ranges that the workers read themselves (ranges.ts) for as long as the file has no quote character; otherwise,
 * and from the first range that cannot be loaded that way, this thread reads and splits the file and each slice's
 * records go through `recordsToRows` (in the pool when there is one). Results are taken in file order.
 */
export async function loadSession(file: Blob, model: Model, opts: LoadOptions): Promise<Session> {
  const { token } = opts;
  const size = file.size;
  const head = await readBytes(file, 0, Math.min(size, SNIFF_BYTES));
  const sn = sniff(head, size);
  const nF = model.nFeatures;
  const decimalComma = sn.delimiter === ';';
  const pool = opts.pool && (await opts.pool.ready()) ? opts.pool : null;
  const sliceSize = opts.sliceSize ?? DEFAULT_SLICE_SIZE;
  token.throwIfCancelled();

  const headerRecord = await readHeader(file, sn, Math.min(sliceSize, SNIFF_BYTES));
  token.throwIfCancelled();
  if (headerRecord === null) fail('empty-file', 'The file is empty (it contains only blank lines).');
  const header = headerRecord.fields;
  const headerStart = headerRecord.start;
  const map = mapColumns(header, model.json);
  const ids: string[] | null = map.idColumn !== null ? [] : null;
  const estimate = Math.ceil(((size - headerStart) / headerRecord.bytesPerRecord) * 1.1) + 16;
  let buf = allocate(Math.max(16, estimate), nF, size);
  const cfg: RowsConfig = {
    delimiter: sn.delimiter,
    lineEnding: sn.lineEnding,
    decimalComma,
    nFeatures: nF,
    ncol: header.length,
    featureOfColumn: Array.from(map.featureOfColumn),
    labelColumn: map.labelColumn,
    idColumn: map.idColumn,
    failValues: model.json.label.fail_values,
    passValues: model.json.label.pass_values,
  };
  let n = 0;
  let lastEnd = headerRecord.dataStart;

  const counts = emptyCounts();
  const cellIssues: CellIssue[] = [];
  const rowShapeIssues: RowShapeIssue[] = [];
  let scoredUpTo = 0;
  const scoreDuringLoad = !map.mapping.needsConsent;

  const scorePending = async (all: boolean) => {
    if (!scoreDuringLoad) return;
    const upto = all ? n : scoredUpTo + Math.floor((n - scoredUpTo) / LOAD_SCORE_ROWS) * LOAD_SCORE_ROWS;
    if (upto <= scoredUpTo) return;
    const count = upto - scoredUpTo;
    const b = buf;
    const probs = await model.score(b.matrix.subarray(scoredUpTo * nF, upto * nF), count, () => token.throwIfCancelled());
    b.probabilities.set(probs, scoredUpTo);
    scoredUpTo = upto;
  };

  /**
   * Append converted rows to the buffers (growing them when needed) and add up their counts. `lineBase` is the
   * line of the first record of a range (meta.lines null); issue lines from a range are relative to it.
   */
  const addRows = (meta: BatchMeta, c: RowsChunk, lineBase: number) => {
    if (c.rows === 0) return;
    if (n + c.rows > buf.cap) {
      buf = allocate(Math.max(n + c.rows, Math.min(Math.ceil(buf.cap * 1.5) + 16, Math.floor(MAX_READINGS_BYTES / (nF * 4)))), nF, size, buf, n);
    }
    const b = buf;
    b.matrix.set(c.matrix, n * nF);
    b.labels.set(c.labels, n);
    b.rowFlags.set(c.flags, n);
    for (let i = 0; i < c.rows; i++) {
      const r = c.records[i] as number;
      b.rowStart[n + i] = meta.offset + (meta.starts[r] as number);
      b.rowContentEnd[n + i] = meta.offset + (meta.contentEnds[r] as number);
      b.rowLine[n + i] = meta.lines ? (meta.lines[r] as number) : lineBase + r;
    }
    lastEnd = meta.offset + (meta.ends[c.records[c.rows - 1] as number] as number);
    if (ids && c.ids) for (const id of c.ids) ids.push(id);
    addCounts(counts, c);
    for (const x of c.cellIssues) {
      if (cellIssues.length >= MAX_EXAMPLES) break;
      cellIssues.push({ ...x, row: x.row + n });
    }
    for (const x of c.rowShapeIssues) {
      if (rowShapeIssues.length >= MAX_EXAMPLES) break;
      rowShapeIssues.push({ ...x, row: x.row + n, line: meta.lines ? x.line : lineBase + x.line });
    }
    n += c.rows;
  };

  /**
   * Load ranges of the file in the parse workers from `start` (a record start on line `line`). Returns where
   * the records not loaded yet start, and their line: the file size when all are loaded, else the start of the
   * first range that could not be loaded this way.
   */
  const loadRanges = async (pool: ParsePool, start: number, line: number) => {
    let next = start;
    let handedOut = start;
    const inFlight: { end: number; result: Promise<RangeResult> }[] = [];
    while (handedOut < size || inFlight.length > 0) {
      while (handedOut < size && inFlight.length < RANGES_IN_FLIGHT) {
        const end = Math.min(size, handedOut + sliceSize);
        // A failure is an unusable range: the sequential path then meets the same problem and reports it.
        const result = pool.runRange({ file, start: handedOut, end, atRecordStart: handedOut === start }, cfg).catch((e: unknown): RangeResult => ({ usable: false, reason: String(e) }));
        inFlight.push({ end, result });
        handedOut = end;
      }
      const { end, result } = inFlight.shift() as { end: number; result: Promise<RangeResult> };
      const r = await result;
      token.throwIfCancelled();
      if (!r.usable) break;
      const k = r.starts.length;
      if (k > 0) {
        // Ranges partition the records: this one must begin where the last one ended.
        if (r.offset + (r.starts[0] as number) !== next) break;
        if (r.chunk) addRows({ offset: r.offset, starts: r.starts, contentEnds: r.contentEnds, ends: r.ends, lines: null }, r.chunk, line);
        next = r.offset + (r.ends[k - 1] as number);
        line += k;
      }
      await scorePending(false);
      opts.onProgress?.({ phase: 'parse', done: end, total: size });
      await yieldToEventLoop();
      token.throwIfCancelled();
    }
    return { next, line };
  };

  /** Read and split the file here from `start` (a record start on line `line`) to its end. */
  const loadSlices = async (start: number, line: number) => {
    // Results are taken back in file order; a few slices (each ≈ 1 MB of text) may be in the pool at once.
    const queue: Pending[] = [];
    const maxInFlight = pool ? pool.size * 2 + 1 : 1;
    const takeOne = async () => {
      const p = queue.shift() as Pending;
      const chunk = p.chunk === null ? null : await p.chunk;
      token.throwIfCancelled();
      if (chunk) addRows(p.meta, chunk, 0);
      await scorePending(false);
      opts.onProgress?.({ phase: 'parse', done: p.bytesRead, total: size });
    };
    for await (const batch of splitRecords(file, { delimiter: sn.delimiter, lineEnding: sn.lineEnding, start, firstLine: line, sliceSize, readAhead: pool ? POOL_READ_AHEAD : 1, ownBuffers: pool !== null })) {
      token.throwIfCancelled();
      const k = batch.starts.length;
      const meta: BatchMeta = { offset: batch.offset, starts: batch.starts, contentEnds: batch.contentEnds, ends: batch.ends, lines: batch.lines };
      const entry: Pending = { meta, bytesRead: batch.bytesRead, chunk: null, ready: true };
      if (k > 0 && pool) {
        // Hand the slice's buffer over, transferred rather than copied (with ownBuffers the splitter keeps no
        // reference to it).
        const job: RecordsJob = { bytes: batch.bytes, starts: batch.starts, contentEnds: batch.contentEnds, ends: batch.ends, lines: batch.lines, mixed: batch.mixed };
        const promise = pool.run(job, 0, k, cfg);
        entry.ready = false;
        // Marks the entry done; also observes a rejection (it is rethrown when taken), so stopping early leaves
        // no unhandled one.
        promise.then(
          () => (entry.ready = true),
          () => (entry.ready = true),
        );
        entry.chunk = promise;
      } else if (k > 0) entry.chunk = recordsToRows(batch, 0, k, cfg);
      queue.push(entry);
      // Take what is done (rows are scored as they arrive); wait only when the pool is a few slices behind.
      while (queue.length > 0 && (queue[0] as Pending).ready) await takeOne();
      while (queue.length >= maxInFlight) await takeOne();
      await yieldToEventLoop();
      token.throwIfCancelled();
    }
    while (queue.length > 0) await takeOne();
  };

  let rest = { next: headerRecord.dataStart, line: headerRecord.dataLine };
  if (pool && rest.next < size) rest = await loadRanges(pool, rest.next, rest.line);
  if (rest.next < size) await loadSlices(rest.next, rest.line);
  if (n === 0) fail('no-rows', `The file has a header row (${header.length} columns) but no data rows.`);
  buf.rowStart[n] = lastEnd;
  await scorePending(true);
  token.throwIfCancelled();

  // Only what no other summary field carries: row shapes, cell issues, formula-like cells and the column mapping
  // have their own fields, and the UI words them from there (so nothing is said twice).
  const notices: string[] = [];
  const { decimalCommaCells } = counts;
  if (decimalCommaCells > 0) {
    notices.push(
      `${decimalCommaCells.toLocaleString('en-US')} ${decimalCommaCells === 1 ? 'reading uses' : 'readings use'} a decimal comma (e.g. 3,14) ` +
        `and ${decimalCommaCells === 1 ? 'was' : 'were'} read with a decimal point (3.14); the file is semicolon-separated.`,
    );
  }

  let label: LabelReport | null = null;
  if (map.labelColumn !== null) {
    label = {
      column: map.labelColumn,
      header: header[map.labelColumn] as string,
      fails: counts.fails,
      passes: counts.passes,
      unknown: counts.unknown,
    };
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
    cellIssueCount: counts.cellIssueCount,
    nonFiniteCells: counts.nonFiniteCount,
    cellIssues,
    rowShapeIssueCount: counts.rowShapeIssueCount,
    rowShapeIssues,
    missingCells: counts.missingCells,
    formulaLikeCells: counts.formulaLikeCells,
    notices,
    predicted: scoreDuringLoad,
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
    predicted: scoreDuringLoad,
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
