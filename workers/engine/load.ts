/**
 * The streaming loader: a file → a new Session. The header record is split and parsed here. With parse workers,
 * the records after it are loaded in byte ranges that the workers read themselves (ranges.ts) for as long as the
 * file has no quote character; otherwise, and from the first range that cannot be loaded that way, this thread
 * reads and splits the file and each slice's records go through `recordsToRows` (in the pool when there is one).
 * Results are taken in file order, and the engine swaps the session in only on success.
 */
import type { LabelCoding, LabelReport, LoadChoices, LoadSummary, NumberFormat, ProgressCallback } from '../api';
import { formatBytes, formatCount, pluralize } from '../format';
import { mapColumns, type ColumnMapping } from './columns';
import { gunzip, isGzip } from './compressed';
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
  type ByteSource,
  type Sniffed,
  type SplitBatch,
} from './csv';
import { fail, type CancelToken } from './errors';
import { appendedNames } from './export';
import { planRows, type FirstRecords } from './memory-plan';
import type { Model } from './model';
import type { ParsePool } from './pool';
import type { RangeResult } from './ranges';
import { recordsToRows, type RecordsJob, type RowsChunk, type RowsConfig } from './rows';
import type { Session } from './session';
import { SessionBuilder, type BatchMeta, type BuiltRows } from './session-builder';
import { detectNumberFormat, isFormulaLike, isUnambiguousCoding, makeChosenLabelReader, makeLabelReader, type LabelValue } from './validate';

export interface LoadOptions {
  fileName: string;
  token: CancelToken;
  onProgress?: ProgressCallback | undefined;
  sliceSize?: number | undefined;
  /** Parse workers; without one (or when they cannot start) every slice is converted in this thread. */
  pool?: ParsePool | undefined;
  /** The user's choices for this file (number format, roles, label coding); the rest is detected. */
  choices?: LoadChoices | undefined;
}

/** Data records read after the header to detect the number format (≈ 60 000 cells at 590 sensors). */
const FORMAT_SAMPLE_RECORDS = 100;

/** The number format used for a load, and what the detection saw. */
export interface NumberFormatUse {
  format: NumberFormat;
  chosen: boolean;
  /** The sample's only numbers with a point could each be read either way ("2.968"). */
  undecided: boolean;
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
export interface HeaderRecord {
  fields: string[];
  /** File offset of the header record, of the record after it, and that record's line. */
  start: number;
  dataStart: number;
  dataLine: number;
  /** The fields of the first data records in that slice (at most FORMAT_SAMPLE_RECORDS), for the detection. */
  sample: string[][];
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

export async function loadSession(given: Blob, model: Model, opts: LoadOptions): Promise<Session> {
  const { token } = opts;
  const compressed = isGzip(await readBytes(given, 0, 2));
  // The session keeps the decompressed text: the grid and the download re-read it like any file.
  const file = compressed ? await gunzip(given) : given;
  token.throwIfCancelled();
  const size = file.size;
  const sniffed = sniff(await readBytes(file, 0, Math.min(size, SNIFF_BYTES)), size);
  const pool = opts.pool && (await opts.pool.ready()) ? opts.pool : null;
  const sliceSize = opts.sliceSize ?? DEFAULT_SLICE_SIZE;
  token.throwIfCancelled();

  const headerRecord = await readHeader(file, sniffed, Math.min(sliceSize, SNIFF_BYTES));
  token.throwIfCancelled();
  if (headerRecord === null) fail('empty-file', 'The file is empty (it contains only blank lines).');
  const header = headerRecord.fields;
  const choices = opts.choices ?? {};
  const map = mapColumns(header, model.json, choices);
  const numbers = numberFormatFor(headerRecord.sample, map, choices);
  const rows = new SessionBuilder({
    model,
    fileBytes: size,
    estimatedRows: planRows(size, headerRecord.firstRecords, model.nFeatures).initialRows,
    scoreDuringLoad: !map.mapping.needsConsent,
    withIds: map.idColumn !== null,
    token,
  });
  const job: LoadJob = { file, sniffed, cfg: rowsConfig(sniffed, header, map, model, numbers.format, choices), sliceSize, token, onProgress: opts.onProgress, pool, rows };

  let rest: Position = { next: headerRecord.dataStart, line: headerRecord.dataLine };
  if (pool && rest.next < size) rest = await loadRanges(job, pool, rest);
  if (rest.next < size) await loadSlices(job, rest);
  const built = await rows.finish();
  if (built.rows === 0) fail('no-rows', noRowsMessage(header.length, built.counts.delimiterOnlyLines));
  token.throwIfCancelled();
  const coding = labelCoding(map, built, choices, model);
  // A coding that could be read either way gives no label at all until the user says which value means fail.
  if (coding === 'unresolved') built.labels.fill(-1);
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
    readLabel: labelReaderFor(coding, choices, model),
    widestRow: Math.max(built.widestRow, header.length),
    modelReadings: built.modelReadings,
    outOfRange: built.outOfRange,
    driftCounts: null,
    usedFeatures: model.usedFeatures,
    scoreLowCoverage: false,
    summary: buildLoadSummary(opts.fileName, size, sniffed, header, map, built, numbers, coding, choices, {
      compressedBytes: compressed ? given.size : null,
      headerFormulaCells: header.filter((h) => isFormulaLike(h)).length,
    }),
  };
}

/** The user's number format, else the one detected on the first records' sensor cells. */
export function numberFormatFor(sample: string[][], map: ColumnMapping, choices: LoadChoices): NumberFormatUse {
  const cells = function* () {
    for (const fields of sample) for (let c = 0; c < fields.length; c++) if ((map.featureOfColumn[c] ?? -1) >= 0) yield fields[c] as string;
  };
  const detected = detectNumberFormat(cells());
  return choices.numberFormat ? { format: choices.numberFormat, chosen: true, undecided: detected.undecided } : { ...detected, chosen: false };
}

/** How the label column's values are read: the user's choice, else 'declared' only for a coding that cannot be misread. */
function labelCoding(map: ColumnMapping, built: BuiltRows, choices: LoadChoices, model: Model): LabelCoding {
  if (map.labelColumn === null) return 'declared';
  if (choices.failValue !== undefined) return 'chosen';
  // Only missing labels: nothing to misread, and no value to ask about.
  if (built.labelValues.length === 0) return 'declared';
  const read = makeLabelReader(model.json.label.fail_values, model.json.label.pass_values);
  return !built.moreLabelValues && isUnambiguousCoding(built.labelValues.map((v) => v.value), read) ? 'declared' : 'unresolved';
}

/** The reader for label cells the user edits: the same coding as the load's. */
function labelReaderFor(coding: LabelCoding, choices: LoadChoices, model: Model): (raw: string) => LabelValue {
  if (coding === 'unresolved') return () => -1;
  if (coding === 'chosen' && choices.failValue !== undefined) return makeChosenLabelReader(choices.failValue);
  return makeLabelReader(model.json.label.fail_values, model.json.label.pass_values);
}

export function noRowsMessage(columns: number, delimiterOnlyLines: number): string {
  const headerOnly = `The file has a header row (${formatCount(columns)} columns) but no data rows`;
  if (delimiterOnlyLines === 0) return `${headerOnly}.`;
  const lines = delimiterOnlyLines === 1 ? 'its one line' : `its ${formatCount(delimiterOnlyLines)} lines`;
  return `${headerOnly}: ${lines} after the header ${delimiterOnlyLines === 1 ? 'contains' : 'contain'} only delimiters (no readings, no wafer name).`;
}

export function rowsConfig(sn: Sniffed, header: string[], map: ColumnMapping, model: Model, format: NumberFormat, choices: LoadChoices): RowsConfig {
  return {
    ...(choices.failValue !== undefined ? { chosenFailValue: choices.failValue } : {}),
    delimiter: sn.delimiter,
    lineEnding: sn.lineEnding,
    decimalComma: format === 'comma',
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
export async function readHeader(file: ByteSource, sn: Sniffed, sliceSize: number): Promise<HeaderRecord | null> {
  for await (const batch of splitRecords(file, { delimiter: sn.delimiter, lineEnding: sn.lineEnding, start: sn.dataStart, firstLine: sn.firstLine, sliceSize })) {
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
      sample: sampleRecords(batch, r + 1, Math.min(k, r + 1 + FORMAT_SAMPLE_RECORDS), sn),
      firstRecords: {
        bytesLeft: file.size - (batch.offset + s),
        meanRecordBytes: Math.max(1, ((batch.ends[k - 1] as number) - s) / (k - r)),
        longestRecordBytes: longest,
      },
    };
  }
  return null;
}

/** The fields of records [from, to) for the number-format detection; none when they do not parse (the load then says why). */
function sampleRecords(batch: SplitBatch, from: number, to: number, sn: Sniffed): string[][] {
  try {
    return parseBatchRecords(batch, from, to, sn.delimiter, sn.lineEnding);
  } catch {
    return [];
  }
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

/** What the report needs that the rows do not carry. */
export interface LoadExtras {
  /** Size of the gzip file given, when the text was decompressed from one. */
  compressedBytes: number | null;
  /** Header cells a spreadsheet would run as formulas. */
  headerFormulaCells: number;
}

const DELIMITER_NAMES = { ',': 'a comma', ';': 'a semicolon', '\t': 'a tab' } as const;

/**
 * The load's report. Only what no other field carries goes into `notices`: row shapes, cell issues, formula-like
 * cells and the column mapping have their own fields, and the UI words them from there (nothing is said twice).
 */
export function buildLoadSummary(
  fileName: string,
  bytes: number,
  sn: Sniffed,
  header: string[],
  map: ColumnMapping,
  built: BuiltRows,
  numbers: NumberFormatUse,
  coding: LabelCoding,
  choices: LoadChoices,
  extras: LoadExtras = { compressedBytes: null, headerFormulaCells: 0 },
): LoadSummary {
  const { compressedBytes } = extras;
  const { counts } = built;
  const notices: string[] = [];
  if (compressedBytes !== null) {
    notices.push(`The file is gzip-compressed (${formatBytes(compressedBytes)}); it was decompressed in this page (${formatBytes(bytes)} of CSV text). The download is plain CSV.`);
  }
  if (sn.separatorLine !== null) {
    notices.push(`The first line “${sn.separatorLine}” (written for Excel) sets the delimiter to ${DELIMITER_NAMES[sn.delimiter]}; it is not a row, and the download keeps it as its first line.`);
  }
  notices.push(...map.invisibleHeaderNotices, ...numberFormatNotices(numbers, counts));
  const label: LabelReport | null =
    map.labelColumn === null
      ? null
      : {
          column: map.labelColumn,
          header: header[map.labelColumn] as string,
          coding,
          failValue: coding === 'chosen' ? (choices.failValue ?? null) : null,
          values: built.labelValues,
          moreValues: built.moreLabelValues,
          ...(coding === 'unresolved'
            ? { fails: 0, passes: 0, unknown: counts.fails + counts.passes + counts.unknown }
            : { fails: counts.fails, passes: counts.passes, unknown: counts.unknown }),
        };
  return {
    fileName,
    bytes,
    rows: built.rows,
    columns: map.columns,
    delimiter: sn.delimiter,
    hasBom: sn.hasBom,
    lineEnding: sn.lineEnding,
    idColumn: map.idColumn,
    numberFormat: numbers.format,
    numberFormatChosen: numbers.chosen,
    mapping: map.mapping,
    label,
    cellIssueCount: counts.cellIssueCount,
    nonFiniteCells: counts.nonFiniteCount,
    cellIssues: built.cellIssues,
    rowShapeIssueCount: counts.rowShapeIssueCount,
    rowShapeIssues: built.rowShapeIssues,
    extraColumns: appendedNames(header, built.widestRow - header.length).extra,
    extraFilledFields: counts.extraFilledFields,
    delimiterOnlyLines: counts.delimiterOnlyLines,
    delimiterOnlyLineExamples: built.delimiterOnlyExamples,
    missingCells: counts.missingCells,
    // The header's cells too: the download neutralizes them as well, and its note counts them.
    formulaLikeCells: counts.formulaLikeCells + extras.headerFormulaCells,
    notices,
  };
}


/**
 * What was assumed about the numbers, when the file gives a reason to doubt it: decimal commas read, points read
 * as thousands separators, readings that only the other format would read, or points that may separate thousands.
 */
function numberFormatNotices(numbers: NumberFormatUse, counts: BuiltRows['counts']): string[] {
  const how = numbers.chosen ? 'as you chose' : 'detected from the file';
  const change = 'If that is wrong, change “Numbers” under Columns.';
  const notices: string[] = [];
  if (numbers.format === 'comma') {
    const parts = [`Numbers are read with a decimal comma (${how}): 3,14 is 3.14.`];
    if (counts.decimalCommaCells > 0) parts.push(`${pluralize(counts.decimalCommaCells, 'reading has', 'readings have')} a decimal comma.`);
    if (counts.thousandsPointCells > 0) {
      parts.push(
        `${pluralize(counts.thousandsPointCells, 'reading has', 'readings have')} a point between groups of three digits, read as a thousands separator: 2.968 is 2968.`,
      );
    }
    notices.push(`${parts.join(' ')} ${change}`);
  } else if (numbers.undecided && counts.otherFormatCells === 0) {
    notices.push(`Numbers are read with a decimal point (${how}): readings such as 2.968 are 2.968, not 2968. ${change}`);
  }
  if (counts.otherFormatCells > 0) {
    const other = numbers.format === 'comma' ? 'point' : 'comma';
    notices.push(
      `${pluralize(counts.otherFormatCells, 'cell is a number', 'cells are numbers')} only when read with a decimal ${other}, not with the decimal ${numbers.format} this file is read with; ` +
        `${counts.otherFormatCells === 1 ? 'it is' : 'they are'} treated as missing readings. ${change}`,
    );
  }
  return notices;
}

/**
 * The fewest rows a file can plausibly hold (memory-plan.ts planRows), read from its first slice only; for a
 * batch's up-front memory check. A gzip file cannot be planned without decompressing it: null.
 */
export async function plannedFewestRows(file: Blob, sliceSize = DEFAULT_SLICE_SIZE): Promise<number | null> {
  if (file.size === 0 || isGzip(await readBytes(file, 0, 2))) return file.size === 0 ? 0 : null;
  try {
    const sniffed = sniff(await readBytes(file, 0, Math.min(file.size, SNIFF_BYTES)), file.size);
    const header = await readHeader(file, sniffed, Math.min(sliceSize, SNIFF_BYTES));
    if (header === null) return 0;
    return Math.floor(header.firstRecords.bytesLeft / (2 * Math.max(1, header.firstRecords.longestRecordBytes)));
  } catch {
    // Not a readable CSV: its own load says why; it holds no rows.
    return 0;
  }
}
