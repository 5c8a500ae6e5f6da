/**
 * Streaming predict: a file of any size → its predictions CSV, in constant memory. The command-line tool runs it
 * (under Node, the file a cli/file-source.ts FileSource); it uses nothing but byte-range reads (csv.ts ByteSource),
 * so it is engine code, free of Node APIs.
 *
 * It reads the file with the page's own steps — sniff, header, column mapping, number format (load.ts), the
 * splitter (csv.ts) and the row conversion (rows.ts) — but keeps no Session: each slice's rows are scored and
 * written through the export core (export.ts CsvExportWriter) and dropped. The output is therefore the page's
 * download of the same file at the same threshold, byte for byte.
 *
 * The widest row: the download names the fields of rows longer than the header in its header line, so the widest
 * row must be known before the first output byte. With `exactWidest` (an output that cannot be rewound, such as a
 * pipe), `planStream` reads every record once to find it and `runStream` reads the file again. Otherwise the plan
 * takes the widest of the header and the first records, and `runStream` throws WidestRowChanged when a later row is
 * wider; the caller then rewinds its output, completes the plan with `withExactWidest` and runs again (rare: a
 * file's rows are usually as wide as its first ones).
 */
import type { LoadChoices, NumberFormat } from '../api';
import { formatCount, isFlagged, isLowCoverage } from '../format';
import { mapColumns, type ColumnMapping } from './columns';
import { isBlankRecord, isDelimiterOnlyRecord, readBytes, SNIFF_BYTES, sniff, splitRecords, yieldToEventLoop, type ByteSource, type SplitBatch, type Sniffed } from './csv';
import { CancelToken, fail } from './errors';
import type { Explainer } from './explain';
import { CsvExportWriter, exportPreamble, type ExportCounts, type ExportLayout, type ExportRows, type ExportSink } from './export';
import { topSensorsFormatter, TOP_SENSORS_COLUMN } from './top-sensors';
import type { ExtraColumn } from './wafer-explain';
import { noRowsMessage, numberFormatFor, readHeader, rowsConfig, type NumberFormatUse } from './load';
import type { Model } from './model';
import { FIELD_START, QUOTE, stepQuoteState, type QuoteState } from './quote-scan';
import type { ParsePool } from './pool';
import { addCounts, emptyCounts, recordsToRows, type RecordsJob, type RowCounts, type RowsChunk, type RowsConfig } from './rows';
import { countModelReadings, withholdLowCoverage } from './session-builder';

/** Slices the stream reads: the page's size (a parse worker's job; ≈ 185 wafers of 590 sensors per scoring call). */
export const STREAM_SLICE_SIZE = 1 << 20;

export interface StreamOptions {
  /** Treat missing or duplicated sensor columns as missing readings (the page asks for this consent first). */
  allowMissingSensors?: boolean;
  /** The user's choices (number format); the rest is detected as the page does. */
  choices?: LoadChoices;
  sliceSize?: number;
  token?: CancelToken;
  /** Read the whole file first to find the widest row (see above); else take it from the first records. */
  exactWidest?: boolean;
}

/** A row wider than the plan's widest: the output written so far has the wrong header (see above). */
export class WidestRowChanged extends Error {
  override readonly name = 'WidestRowChanged';
}

/** What the header and a first read of the file tell, before any output: the file is refused here or not at all. */
export interface StreamPlan {
  file: ByteSource;
  sniffed: Sniffed;
  header: string[];
  map: ColumnMapping;
  numbers: NumberFormatUse;
  cfg: RowsConfig;
  /** Fields of the widest record, the header included (with `widestExact` false: of the header and the first records). */
  widestRow: number;
  widestExact: boolean;
  /** File offset where the data records start (after the header record). */
  dataStart: number;
  sliceSize: number;
  token: CancelToken;
}

/**
 * Sniff, read the header, map the columns, detect the number format, and find the widest record. Throws the
 * page's EngineFailure for a file the page would refuse at its header (empty, not text, no sensor column …), and
 * 'mapping-not-accepted' for missing or duplicated sensor columns unless `allowMissingSensors`.
 */
export async function planStream(file: ByteSource, model: Model, opts: StreamOptions = {}): Promise<StreamPlan> {
  const size = file.size;
  const sniffed = sniff(await readBytes(file, 0, Math.min(size, SNIFF_BYTES)), size);
  const sliceSize = opts.sliceSize ?? STREAM_SLICE_SIZE;
  const token = opts.token ?? new CancelToken();
  // The same first slice as the page's load: the number format is detected from the records in it.
  const headerRecord = await readHeader(file, sniffed, Math.min(1 << 20, SNIFF_BYTES));
  if (headerRecord === null) fail('empty-file', 'The file is empty (it contains only blank lines).');
  const header = headerRecord.fields;
  const choices = opts.choices ?? {};
  const map = mapColumns(header, model.json, choices);
  if (map.mapping.needsConsent && !opts.allowMissingSensors) fail('mapping-not-accepted', consentMessage(map));
  const numbers = numberFormatFor(headerRecord.sample, map, choices);
  const cfg = rowsConfig(sniffed, header, map, model, numbers.format, choices);
  const plan = { file, sniffed, header, map, numbers, cfg, widestRow: widestSampled(header.length, headerRecord.sample), widestExact: false, dataStart: headerRecord.dataStart, sliceSize, token };
  return opts.exactWidest ? withExactWidest(plan) : plan;
}

/** The plan with the widest row of the whole file (one read of it). */
export async function withExactWidest(plan: StreamPlan): Promise<StreamPlan> {
  if (plan.widestExact) return plan;
  const widestRow = await widestRecord(plan.file, plan.sniffed, plan.dataStart, plan.header.length, plan.sliceSize, plan.token);
  return { ...plan, widestRow, widestExact: true };
}

/**
 * The widest of the header and the sampled first records that are surely rows (a field with a character other than
 * a space or tab). A record left out can only make the guess too narrow, which runStream detects.
 */
function widestSampled(headerFields: number, sample: string[][]): number {
  let widest = headerFields;
  for (const fields of sample) if (fields.length > widest && fields.some((f) => /[^ \t]/.test(f))) widest = fields.length;
  return widest;
}

/** What the page shows before it scores a file with missing or duplicated sensor columns, and how to go on here. */
function consentMessage(map: ColumnMapping): string {
  const { missingText, duplicateFeatures } = map.mapping;
  const parts: string[] = [];
  if (missingText !== null) parts.push(`sensor columns are missing: ${missingText}`);
  if (duplicateFeatures.length > 0) {
    const shown = duplicateFeatures.slice(0, 3).map((d) => `${d.feature} in columns ${d.columns.map((c) => formatCount(c + 1)).join(', ')}`);
    const more = duplicateFeatures.length > 3 ? ` and ${formatCount(duplicateFeatures.length - 3)} more` : '';
    parts.push(`sensor columns are duplicated (the first of each is read): ${shown.join('; ')}${more}`);
  }
  return `Not scored: ${parts.join('; and ')}. The page asks before treating them as missing readings; to do so here, add --allow-missing-sensors.`;
}

/**
 * Fields of the widest record: the header, and every data record that is a row (blank lines and lines of only
 * delimiters are not rows). Fields are counted by the splitter's quote rules (quote-scan.ts), which the parse
 * follows; runStream checks that no row it converts is wider.
 */
async function widestRecord(file: ByteSource, sn: Sniffed, dataStart: number, headerFields: number, sliceSize: number, token: CancelToken): Promise<number> {
  const delim = sn.delimiter.charCodeAt(0);
  let widest = headerFields;
  for await (const batch of splitRecords(file, { delimiter: sn.delimiter, lineEnding: sn.lineEnding, start: dataStart, sliceSize })) {
    token.throwIfCancelled();
    const { bytes } = batch;
    const quoteFree = bytes.indexOf(QUOTE) === -1;
    for (let r = 0; r < batch.starts.length; r++) {
      const st = batch.starts[r] as number;
      const ce = batch.contentEnds[r] as number;
      if (isBlankRecord(bytes, st, ce) || isDelimiterOnlyRecord(bytes, st, ce, sn.delimiter)) continue;
      const fields = quoteFree ? countDelimiters(bytes, st, ce, delim) + 1 : countQuotedFields(bytes, st, ce, delim);
      if (fields > widest) widest = fields;
    }
  }
  return widest;
}

function countDelimiters(bytes: Uint8Array, from: number, to: number, delim: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (bytes[i] === delim) n++;
  return n;
}

function countQuotedFields(bytes: Uint8Array, from: number, to: number, delim: number): number {
  let fields = 1;
  let state: QuoteState = FIELD_START;
  for (let i = from; i < to; i++) {
    state = stepQuoteState(state, bytes[i] as number, delim);
    if (state === FIELD_START) fields++;
  }
  return fields;
}

/** How the output is written. */
export interface StreamOutput {
  threshold: number;
  onlyFlagged: boolean;
  /** Takes each slice's output bytes (the bytes are not used again); the stream waits for it: backpressure. */
  write: (bytes: Uint8Array) => Promise<void> | void;
  /** Bytes of the file read so far, after each slice. */
  onProgress?: (done: number, total: number) => void;
  /** Parse workers to convert slices in (the command-line tool's worker threads); without, all runs in this thread. */
  pool?: ParsePool;
  /** For one output combining several files (export.ts CsvExportWriter options). */
  combine?: { sourceFile: string; writeHeader: boolean };
  /** Add the page's top_sensors column (explain.json's exact contributions), as its download option does. */
  explainer?: Explainer;
}

/** What one streamed file gave. */
export interface StreamSummary extends ExportCounts {
  /** Data rows (wafers) in the file. */
  dataRows: number;
  flagged: number;
  ok: number;
  /** Low-coverage wafers: not scored. */
  notScored: number;
  counts: RowCounts;
  numberFormat: NumberFormat;
  widestRow: number;
}

/** Collects one slice's output; `take` hands it out as one buffer. */
class SliceSink implements ExportSink {
  private parts: Uint8Array[] = [];
  private bytes = 0;
  private readonly enc = new TextEncoder();
  push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.bytes += bytes.length;
  }
  text(s: string): void {
    this.push(this.enc.encode(s));
  }
  take(): Uint8Array {
    const out = new Uint8Array(this.bytes);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    this.parts = [];
    this.bytes = 0;
    return out;
  }
}

/** One slice's converted and scored rows, as the export core reads them (rows numbered from `base`). */
class ChunkRows implements ExportRows {
  constructor(
    private readonly base: number,
    private readonly chunk: RowsChunk,
    private readonly probs: Float32Array,
    private readonly readings: Uint16Array,
  ) {}
  private local(row: number): number {
    const i = row - this.base;
    if (i < 0 || i >= this.chunk.rows) fail('internal', `The export and the conversion disagree on the rows of the file (row ${row + 1}).`);
    return i;
  }
  probability(row: number): number {
    return this.probs[this.local(row)] as number;
  }
  flags(row: number): number {
    return this.chunk.flags[this.local(row)] as number;
  }
  modelReadings(row: number): number {
    return this.readings[this.local(row)] as number;
  }
  edits(): undefined {
    return undefined;
  }
}

/** The slice being written: the top_sensors column reads its readings (rows numbered from `base`). */
interface CurrentSlice {
  base: number;
  chunk: RowsChunk | null;
  probs: Float32Array;
}

/** The page's top_sensors column over the slice being written: empty for a wafer not scored, as in the page. */
function topSensorsOfSlice(explainer: Explainer, current: CurrentSlice): ExtraColumn {
  const format = topSensorsFormatter(explainer);
  const nF = explainer.nFeatures;
  return {
    name: TOP_SENSORS_COLUMN,
    text: (row) => {
      const i = row - current.base;
      const chunk = current.chunk;
      if (chunk === null || i < 0 || i >= chunk.rows) return fail('internal', `The export and the conversion disagree on the rows of the file (row ${row + 1}).`);
      return Number.isNaN(current.probs[i] as number) ? '' : format(chunk.matrix.subarray(i * nF, (i + 1) * nF));
    },
  };
}

function newWriter(plan: StreamPlan, modelSensors: number, out: Omit<StreamOutput, 'write'>, sink: ExportSink, added: ExtraColumn[] = []): CsvExportWriter {
  const layout: ExportLayout = {
    sniffed: plan.sniffed,
    header: plan.header,
    widestRow: plan.widestRow,
    modelSensors,
    // Every row is scored (low-coverage ones withheld), as in the page's download after predicting.
    predicted: true,
    threshold: out.threshold,
    onlyFlagged: out.onlyFlagged,
  };
  const combine = out.combine ? { sourceFile: out.combine.sourceFile, writeHeader: out.combine.writeHeader, keepNonRows: false } : {};
  return new CsvExportWriter(layout, sink, { ...combine, added });
}

/** The output's column names for a planned file (with the source_file column first when combining). */
export function outputColumns(plan: StreamPlan, combine: boolean, explain = false): string[] {
  const none: ExportSink = { push: () => undefined, text: () => undefined };
  const out = { threshold: 0, onlyFlagged: false, ...(combine ? { combine: { sourceFile: '', writeHeader: true } } : {}) };
  const added = explain ? [{ name: TOP_SENSORS_COLUMN, text: () => '' }] : [];
  return newWriter(plan, 0, out, none, added).outputHeader();
}

/** Convert, score and write the file planned by planStream; throws the page's message for a file it would refuse. */
export async function runStream(plan: StreamPlan, model: Model, out: StreamOutput): Promise<StreamSummary> {
  const { file, sniffed: sn, cfg, token } = plan;
  const sink = new SliceSink();
  const current: CurrentSlice = { base: 0, chunk: null, probs: new Float32Array(0) };
  const added = out.explainer ? [topSensorsOfSlice(out.explainer, current)] : [];
  const writer = newWriter(plan, model.usedFeatures.length, out, sink, added);
  if (!out.combine || out.combine.writeHeader) writer.start(await exportPreamble(file, sn));
  const counts = emptyCounts();
  let widest = plan.header.length;
  const tally = { flagged: 0, ok: 0, notScored: 0 };
  let rows = 0;
  /** Score and write one converted slice, in file order. */
  const finish = async ({ batch, chunk: pending }: PendingSlice): Promise<void> => {
    const chunk = await pending;
    token.throwIfCancelled();
    if (chunk.widestRow > plan.widestRow) {
      if (!plan.widestExact) throw new WidestRowChanged(`a row of ${chunk.widestRow} fields after the first records`);
      fail('internal', 'The file changed while it was read (a row is wider than the first read found).');
    }
    const { probs, readings } = await scoreChunk(chunk, model);
    countResults(probs, readings, model.usedFeatures.length, out.threshold, tally);
    Object.assign(current, { base: rows, chunk, probs });
    writer.writeBatch(batch, new ChunkRows(rows, chunk, probs, readings));
    rows += chunk.rows;
    if (writer.dataRows !== rows) fail('internal', 'The export and the conversion disagree on the rows of the file.');
    addCounts(counts, chunk);
    widest = Math.max(widest, chunk.widestRow);
    await out.write(sink.take());
    out.onProgress?.(batch.bytesRead, file.size);
  };
  const pool = out.pool && (await out.pool.ready()) ? out.pool : null;
  // With parse workers a few slices are converted at once; they are scored and written in file order.
  const inFlight: PendingSlice[] = [];
  const maxInFlight = pool ? pool.size * 2 + 1 : 1;
  const split = splitRecords(file, { delimiter: sn.delimiter, lineEnding: sn.lineEnding, start: sn.dataStart, firstLine: sn.firstLine, sliceSize: plan.sliceSize, readAhead: pool ? 2 : 1 });
  for await (const batch of split) {
    token.throwIfCancelled();
    inFlight.push({ batch, chunk: convert(batch, firstDataRecord(batch, plan.dataStart), cfg, pool) });
    while (inFlight.length >= maxInFlight) await finish(inFlight.shift() as PendingSlice);
    await yieldToEventLoop();
  }
  while (inFlight.length > 0) await finish(inFlight.shift() as PendingSlice);
  if (rows === 0) fail('no-rows', noRowsMessage(plan.header.length, counts.delimiterOnlyLines));
  // The header line was written with the first read's count: it must be the parse's, as the page's download has it.
  if (widest !== plan.widestRow) {
    fail('internal', `The first read of the file found a row of ${formatCount(plan.widestRow)} fields, the parse one of ${formatCount(widest)}: the output's header may not match the page's. Please report this with the file.`);
  }
  return { ...writer.result(), dataRows: rows, ...tally, counts, numberFormat: plan.numbers.format, widestRow: plan.widestRow };
}

/** A split slice and its rows, being converted (in a parse worker, or done here). */
interface PendingSlice {
  batch: SplitBatch;
  chunk: Promise<RowsChunk> | RowsChunk;
}

/**
 * Convert records [from, …) of a slice: in the pool, which gets a copy of the bytes (transferred: the export
 * still writes from the original), or here.
 */
function convert(batch: SplitBatch, from: number, cfg: RowsConfig, pool: ParsePool | null): Promise<RowsChunk> | RowsChunk {
  const to = batch.starts.length;
  if (!pool || to === from) return recordsToRows(batch, from, to, cfg);
  const job: RecordsJob = { bytes: batch.bytes.slice(), starts: batch.starts, contentEnds: batch.contentEnds, ends: batch.ends, lines: batch.lines, mixed: batch.mixed };
  const chunk = pool.run(job, from, to, cfg);
  // Observed here, rethrown when the slice's turn comes: a failure ahead of it must not be unhandled meanwhile.
  chunk.catch(() => undefined);
  return chunk;
}

/** Index of the batch's first record after the header (the header's slice also holds it and any blank lines before it). */
function firstDataRecord(batch: SplitBatch, dataStart: number): number {
  let r = 0;
  while (r < batch.starts.length && batch.offset + (batch.starts[r] as number) < dataStart) r++;
  return r;
}

/** P(fail) of a chunk's rows, low-coverage rows withheld (NaN), as the page scores them by default. */
async function scoreChunk(chunk: RowsChunk, model: Model): Promise<{ probs: Float32Array; readings: Uint16Array }> {
  const nF = model.nFeatures;
  const readings = new Uint16Array(chunk.rows);
  for (let i = 0; i < chunk.rows; i++) readings[i] = countModelReadings(chunk.matrix, i, nF, model.usedFeatures);
  const probs = chunk.rows > 0 ? await model.score(chunk.matrix, chunk.rows) : new Float32Array(0);
  withholdLowCoverage(probs, readings, model.usedFeatures.length);
  return { probs, readings };
}

function countResults(probs: Float32Array, readings: Uint16Array, modelSensors: number, threshold: number, tally: { flagged: number; ok: number; notScored: number }): void {
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i] as number;
    if (Number.isNaN(p)) {
      if (isLowCoverage(readings[i] as number, modelSensors)) tally.notScored++;
    } else if (isFlagged(p, threshold)) tally.flagged++;
    else tally.ok++;
  }
}
