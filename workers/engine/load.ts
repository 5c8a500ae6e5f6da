/**
 * The streaming loader: a file → a new Session. The header record is split and parsed here. With parse workers,
 * the records after it are loaded in byte ranges that the workers read themselves (ranges.ts) for as long as the
 * file has no quote character; otherwise, and from the first range that cannot be loaded that way, this thread
 * reads and splits the file and each slice's records go through `recordsToRows` (in the pool when there is one).
 * Results are taken in file order, and the engine swaps the session in only on success.
 */
import type { LabelReport, LoadSummary, ProgressCallback } from '../api';
import { mapColumns, type ColumnMapping } from './columns';
import {
  countLineBreaks,
  DEFAULT_SLICE_SIZE,
  isBlankRecord,
  parseBatchRecords,
  readBytes,
  SNIFF_BYTES,
  sniff,
  splitRecords,
  yieldToEventLoop,
  type Sniffed,
  type SplitBatch,
} from './csv';
import { fail, type CancelToken } from './errors';
import { planRows, type FirstRecords } from './memory-plan';
import type { Model } from './model';
import type { ParsePool } from './pool';
import type { RangeResult } from './ranges';
import { recordsToRows, type RecordsJob, type RowsChunk, type RowsConfig } from './rows';
import type { Session } from './session';
import { SessionBuilder, type BatchMeta, type BuiltRows } from './session-builder';

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
 * would otherwise be a large share of the load (the browser serves Blob reads from another process).
 */
const POOL_READ_AHEAD = 4;

/**
 * Ranges handed to the pool ahead of the one being filed (≈ 1 MB each). A worker starts a range's read when the
 * request arrives, so a few queued per worker keep reads ahead of conversion.
 */
const RANGES_IN_FLIGHT = 8;

/** The header record and where the data records after it start. */
interface HeaderRecord {
  fields: string[];
  /** File offset of the header record, of the record after it, and that record's line. */
  start: number;
  dataStart: number;
  dataLine: number;
  /** The records of the first slice, for the row plan. */
  firstRecords: FirstRecords;
}

/** What the range and slice loaders share for one load. */
interface LoadJob {
  file: Blob;
  sniffed: Sniffed;
  cfg: RowsConfig;
  sliceSize: number;
  token: CancelToken;
  onProgress: ProgressCallback | undefined;
  pool: ParsePool | null;
  rows: SessionBuilder;
}

/** Where the records not loaded yet start (a record start), and that record's line. */
interface Position {
  next: number;
  line: number;
}

export async function loadSession(file: Blob, model: Model, opts: LoadOptions): Promise<Session> {
  const { token } = opts;
  const size = file.size;
  const sniffed = sniff(await readBytes(file, 0, Math.min(size, SNIFF_BYTES)), size);
  const pool = opts.pool && (await opts.pool.ready()) ? opts.pool : null;
  const sliceSize = opts.sliceSize ?? DEFAULT_SLICE_SIZE;
  token.throwIfCancelled();

  const headerRecord = await readHeader(file, sniffed, Math.min(sliceSize, SNIFF_BYTES));
  token.throwIfCancelled();
  if (headerRecord === null) fail('empty-file', 'The file is empty (it contains only blank lines).');
  const header = headerRecord.fields;
  const map = mapColumns(header, model.json);
  const rows = new SessionBuilder({
    model,
    fileBytes: size,
    estimatedRows: planRows(size, headerRecord.firstRecords, model.nFeatures).initialRows,
    scoreDuringLoad: !map.mapping.needsConsent,
    withIds: map.idColumn !== null,
    token,
  });
  const job: LoadJob = { file, sniffed, cfg: rowsConfig(sniffed, header, map, model), sliceSize, token, onProgress: opts.onProgress, pool, rows };

  let rest: Position = { next: headerRecord.dataStart, line: headerRecord.dataLine };
  if (pool && rest.next < size) rest = await loadRanges(job, pool, rest);
  if (rest.next < size) await loadSlices(job, rest);
  if (rows.rows === 0) fail('no-rows', `The file has a header row (${header.length} columns) but no data rows.`);
  const built = await rows.finish();
  token.throwIfCancelled();
  return {
    file,
    fileName: opts.fileName,
    sniffed,
    header,
    headerStart: headerRecord.start,
    map,
    nFeatures: model.nFeatures,
    rows: built.rows,
    rowStart: built.rowStart,
    rowContentEnd: built.rowContentEnd,
    rowLine: built.rowLine,
    matrix: built.matrix,
    labels: built.labels,
    ids: built.ids,
    rowFlags: built.rowFlags,
    probabilities: built.probabilities,
    predicted: built.scored,
    parsedRows: new Map(),
    edits: new Map(),
    orderCache: new Map(),
    scoreIndex: null,
    decimalComma: job.cfg.decimalComma,
    summary: buildLoadSummary(opts.fileName, size, sniffed, header, map, built),
  };
}

function rowsConfig(sn: Sniffed, header: string[], map: ColumnMapping, model: Model): RowsConfig {
  return {
    delimiter: sn.delimiter,
    lineEnding: sn.lineEnding,
    decimalComma: sn.delimiter === ';',
    nFeatures: model.nFeatures,
    ncol: header.length,
    featureOfColumn: Array.from(map.featureOfColumn),
    labelColumn: map.labelColumn,
    idColumn: map.idColumn,
    failValues: model.json.label.fail_values,
    passValues: model.json.label.pass_values,
  };
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
    // The header is often the longest record (590 names); it bounds the rows only when no data record follows.
    let longest = 0;
    for (let j = r + 1; j < k; j++) longest = Math.max(longest, (batch.ends[j] as number) - (batch.starts[j] as number));
    if (longest === 0) longest = e - s;
    return {
      fields: parseBatchRecords(batch, r, r + 1, sn.delimiter, sn.lineEnding)[0] as string[],
      start: batch.offset + s,
      dataStart: batch.offset + e,
      dataLine: (batch.lines[r] as number) + countLineBreaks(batch.bytes, s, e),
      firstRecords: {
        bytesLeft: file.size - (batch.offset + s),
        meanRecordBytes: Math.max(1, ((batch.ends[k - 1] as number) - s) / (k - r)),
        longestRecordBytes: longest,
      },
    };
  }
  return null;
}

/** After each slice or range: score what is ready, report progress, let cancel() in. */
async function afterStep(job: LoadJob, done: number): Promise<void> {
  await job.rows.scorePending(false);
  job.onProgress?.({ phase: 'parse', done, total: job.file.size });
  await yieldToEventLoop();
  job.token.throwIfCancelled();
}

/**
 * Load ranges of the file in the parse workers from `from`. Returns where the records not loaded yet start: the
 * file size when all are loaded, else the start of the first range that could not be loaded this way.
 */
async function loadRanges(job: LoadJob, pool: ParsePool, from: Position): Promise<Position> {
  const { file, cfg, sliceSize, token } = job;
  const size = file.size;
  let { next, line } = from;
  let handedOut = next;
  const inFlight: { end: number; result: Promise<RangeResult> }[] = [];
  while (handedOut < size || inFlight.length > 0) {
    while (handedOut < size && inFlight.length < RANGES_IN_FLIGHT) {
      const end = Math.min(size, handedOut + sliceSize);
      // A failure is an unusable range: the sequential path then meets the same problem and reports it.
      const result = pool.runRange({ file, start: handedOut, end, atRecordStart: handedOut === from.next }, cfg).catch((e: unknown): RangeResult => ({ usable: false, reason: String(e) }));
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
      if (r.chunk) job.rows.addRows({ offset: r.offset, starts: r.starts, contentEnds: r.contentEnds, ends: r.ends, lines: null }, r.chunk, line);
      next = r.offset + (r.ends[k - 1] as number);
      line += k;
    }
    await afterStep(job, end);
  }
  return { next, line };
}

/** Converted rows on their way to the buffers, in file order; `chunk` is null for a slice without data rows. */
interface Pending {
  meta: BatchMeta;
  bytesRead: number;
  chunk: Promise<RowsChunk> | RowsChunk | null;
  /** The chunk is available (or its promise settled). */
  ready: boolean;
}

/** Read and split the file here from `from` to its end; the records are converted in the pool when there is one. */
async function loadSlices(job: LoadJob, from: Position): Promise<void> {
  const { file, sniffed: sn, cfg, pool, token } = job;
  // Results are taken back in file order; a few slices (each ≈ 1 MB of text) may be in the pool at once.
  const queue: Pending[] = [];
  const maxInFlight = pool ? pool.size * 2 + 1 : 1;
  const takeOne = async () => {
    const p = queue.shift() as Pending;
    const chunk = p.chunk === null ? null : await p.chunk;
    token.throwIfCancelled();
    if (chunk) job.rows.addRows(p.meta, chunk, 0);
    await job.rows.scorePending(false);
    job.onProgress?.({ phase: 'parse', done: p.bytesRead, total: file.size });
  };
  const split = splitRecords(file, {
    delimiter: sn.delimiter,
    lineEnding: sn.lineEnding,
    start: from.next,
    firstLine: from.line,
    sliceSize: job.sliceSize,
    readAhead: pool ? POOL_READ_AHEAD : 1,
    ownBuffers: pool !== null,
  });
  for await (const batch of split) {
    token.throwIfCancelled();
    queue.push(convertSlice(batch, cfg, pool));
    // Take what is done (rows are scored as they arrive); wait only when the pool is a few slices behind.
    while (queue.length > 0 && (queue[0] as Pending).ready) await takeOne();
    while (queue.length >= maxInFlight) await takeOne();
    await yieldToEventLoop();
    token.throwIfCancelled();
  }
  while (queue.length > 0) await takeOne();
}

/** Start converting one split slice: in the pool (its buffer transferred, not copied) or here. */
function convertSlice(batch: SplitBatch, cfg: RowsConfig, pool: ParsePool | null): Pending {
  const k = batch.starts.length;
  const meta: BatchMeta = { offset: batch.offset, starts: batch.starts, contentEnds: batch.contentEnds, ends: batch.ends, lines: batch.lines };
  const entry: Pending = { meta, bytesRead: batch.bytesRead, chunk: null, ready: true };
  if (k === 0) return entry;
  if (!pool) {
    entry.chunk = recordsToRows(batch, 0, k, cfg);
    return entry;
  }
  // With ownBuffers the splitter keeps no reference to the slice's buffer, so it can be transferred.
  const records: RecordsJob = { bytes: batch.bytes, starts: batch.starts, contentEnds: batch.contentEnds, ends: batch.ends, lines: batch.lines, mixed: batch.mixed };
  const promise = pool.run(records, 0, k, cfg);
  entry.ready = false;
  // Marks the entry done; also observes a rejection (it is rethrown when taken), so stopping early leaves no
  // unhandled one.
  promise.then(
    () => (entry.ready = true),
    () => (entry.ready = true),
  );
  entry.chunk = promise;
  return entry;
}

/**
 * The load's report. Only what no other field carries goes into `notices`: row shapes, cell issues, formula-like
 * cells and the column mapping have their own fields, and the UI words them from there (nothing is said twice).
 */
export function buildLoadSummary(fileName: string, bytes: number, sn: Sniffed, header: string[], map: ColumnMapping, built: BuiltRows): LoadSummary {
  const { counts } = built;
  const notices: string[] = [];
  const { decimalCommaCells } = counts;
  if (decimalCommaCells > 0) {
    notices.push(
      `${decimalCommaCells.toLocaleString('en-US')} ${decimalCommaCells === 1 ? 'reading uses' : 'readings use'} a decimal comma (e.g. 3,14) ` +
        `and ${decimalCommaCells === 1 ? 'was' : 'were'} read with a decimal point (3.14); the file is semicolon-separated.`,
    );
  }
  const label: LabelReport | null =
    map.labelColumn === null
      ? null
      : { column: map.labelColumn, header: header[map.labelColumn] as string, fails: counts.fails, passes: counts.passes, unknown: counts.unknown };
  return {
    fileName,
    bytes,
    rows: built.rows,
    columns: map.columns,
    delimiter: sn.delimiter,
    hasBom: sn.hasBom,
    lineEnding: sn.lineEnding,
    idColumn: map.idColumn,
    mapping: map.mapping,
    label,
    cellIssueCount: counts.cellIssueCount,
    nonFiniteCells: counts.nonFiniteCount,
    cellIssues: built.cellIssues,
    rowShapeIssueCount: counts.rowShapeIssueCount,
    rowShapeIssues: built.rowShapeIssues,
    missingCells: counts.missingCells,
    formulaLikeCells: counts.formulaLikeCells,
    notices,
  };
}
