/**
 * CSV export: re-streams the original file by bytes and appends fault_probability / prediction to each record.
 * Unedited records without formula-like cells are copied byte-identical; the others are re-serialized.
 *
 * One core writes the bytes for every consumer: `CsvExportWriter` takes the file's split batches (csv.ts
 * splitRecords) and each data row's results through a `ExportRows`, and writes to a `ExportSink`. The page's
 * download (`exportCsv`, a Session with its edits) and the command-line tool's streaming predict
 * (`stream-predict.ts`, rows scored batch by batch, no edits) both drive it, so their output is byte-identical by
 * construction.
 */
import type { ExportOptions, ExportResult, ProgressCallback } from '../api';
import { isFlagged, isLowCoverage } from '../format';
import { DEFAULT_SLICE_SIZE, decodeUtf8, isBlankRecord, isDelimiterOnlyRecord, parseText, quoteField, readBytes, splitRecords, yieldToEventLoop, type ByteSource, type Delimiter, type Sniffed, type SplitBatch } from './csv';
import { type CancelToken, fail } from './errors';
import { FLAG_FORMULA, FLAG_LONG, FLAG_SHORT } from './rows';
import type { Session } from './session';
import { FIELD_START, QUOTE, stepQuoteState, type QuoteState } from './quote-scan';
import { isFormulaLike, neutralize } from './validate';
import type { ExtraColumn } from './wafer-explain';

/**
 * Shortest decimal that reads back as the same float32 (probabilities are float32), for the download, which must
 * not lose precision; the UI rounds to 3 decimals instead (src/lib/format.ts). Empty for NaN.
 */
export function shortestFloat32Text(p: number): string {
  if (Number.isNaN(p)) return '';
  const f = Math.fround(p);
  for (let d = 1; d <= 9; d++) {
    const s = f.toPrecision(d);
    if (Math.fround(Number(s)) === f) return String(Number(s));
  }
  return String(f);
}

export function exportFileName(inputName: string, onlyFlagged: boolean): string {
  const base = inputName.replace(/^.*[\\/]/, '').replace(/\.gz$/i, '').replace(/\.[^.]*$/, '') || 'wafers';
  return `${base}${onlyFlagged ? '_flagged' : '_predictions'}.csv`;
}

/** The names of the columns the download adds after the header's own. */
export interface AppendedNames {
  /** For the fields of rows longer than the header: extra_1, extra_2 … */
  extra: string[];
  probability: string;
  prediction: string;
  /** For the extra columns asked for (e.g. top_sensors), after the two result columns. */
  added: string[];
}

/**
 * Names for the appended columns that do not collide with the user's headers: `extraCount` placeholders for the
 * positions past the header that longer rows fill, then the two result columns.
 */
export function appendedNames(header: string[], extraCount = 0, addedBases: string[] = []): AppendedNames {
  const taken = new Set(header.map((h) => h.trim().toLowerCase()));
  const unique = (base: string) => {
    let name = base;
    for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };
  const extra = Array.from({ length: Math.max(0, extraCount) }, (_, i) => unique(`extra_${i + 1}`));
  const probability = unique('fault_probability');
  const prediction = unique('prediction');
  return { extra, probability, prediction, added: addedBases.map(unique) };
}

/** Accumulates output bytes in ~1 MB chunks. */
export class ByteSink implements ExportSink {
  private readonly parts: Uint8Array<ArrayBuffer>[] = [];
  private buf = new Uint8Array(1 << 20);
  private len = 0;
  private readonly enc = new TextEncoder();

  push(bytes: Uint8Array): void {
    if (bytes.length > this.buf.length - this.len) {
      this.flush();
      if (bytes.length > this.buf.length) {
        this.parts.push(bytes.slice());
        this.partBytes += bytes.length;
        return;
      }
    }
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }
  text(s: string): void {
    if (s.length * 3 <= this.buf.length - this.len) {
      this.len += this.enc.encodeInto(s, this.buf.subarray(this.len)).written;
    } else this.push(this.enc.encode(s));
  }
  private readonly blobs: Blob[] = [];
  private partBytes = 0;

  private flush(): void {
    if (this.len > 0) {
      this.parts.push(this.buf.slice(0, this.len));
      this.partBytes += this.len;
    }
    this.len = 0;
    // Hand large runs of bytes to a Blob so the browser can keep them outside the JS heap.
    if (this.partBytes >= 32 << 20) this.seal();
  }
  private seal(): void {
    if (this.parts.length > 0) this.blobs.push(new Blob(this.parts));
    this.parts.length = 0;
    this.partBytes = 0;
  }
  blob(): Blob {
    this.flush();
    this.seal();
    return new Blob(this.blobs, { type: 'text/csv;charset=utf-8' });
  }
}

/**
 * Raw text spans [start, end) of the fields of one record (its content, without the line ending), by the
 * splitter's quote rules (quote-scan.ts).
 */
export function rawFieldSpans(text: string, delimiter: Delimiter): number[] {
  const delim = delimiter.charCodeAt(0);
  const spans: number[] = [];
  let start = 0;
  let state: QuoteState = FIELD_START;
  for (let i = 0; i < text.length; i++) {
    state = stepQuoteState(state, text.charCodeAt(i), delim);
    if (state === FIELD_START) {
      spans.push(start, i);
      start = i + 1;
    }
  }
  spans.push(start, text.length);
  return spans;
}

/**
 * The prediction column: Fault / OK, empty before scoring; a low-coverage wafer says so, with its coverage, both
 * when it is not scored (the default) and when the user chose to score it.
 */
export function predictionText(predicted: boolean, readings: number, modelSensors: number, p: number, flagged: boolean): string {
  const low = isLowCoverage(readings, modelSensors);
  const coverage = `${readings} of ${modelSensors} model sensors read`;
  if (Number.isNaN(p)) return predicted && low ? `Not scored: low coverage (${coverage})` : '';
  const label = flagged ? 'Fault' : 'OK';
  return low ? `${label} (low coverage: ${coverage})` : label;
}

/** Where the export core writes: raw bytes (copied from the file) and text (encoded as UTF-8). */
export interface ExportSink {
  push(bytes: Uint8Array): void;
  text(s: string): void;
}

/** What the core needs about the file and the run, fixed for one export. */
export interface ExportLayout {
  /** The file's delimiter, BOM and `sep=` line (csv.ts sniff). */
  sniffed: Sniffed;
  /** The header record's fields. */
  header: string[];
  /** Fields of the widest record, the header included (≥ header.length): every record is padded to it. */
  widestRow: number;
  /** How many sensors the model's trees use (Model.usedFeatures.length): the low-coverage rule counts over them. */
  modelSensors: number;
  /** Every row has been scored: an unscored low-coverage row then says why. */
  predicted: boolean;
  threshold: number;
  onlyFlagged: boolean;
}

/**
 * Each data row's results, by row index (0-based, file order: the rows the loader keeps, i.e. every record after
 * the header that is neither blank nor only delimiters). The core asks for the rows in order, once each.
 */
export interface ExportRows {
  /** P(fail); NaN when not scored. */
  probability(row: number): number;
  /** rows.ts FLAG_* bits of the row. */
  flags(row: number): number;
  /** Readings of the model's sensors the row has (for the low-coverage wording). */
  modelReadings(row: number): number;
  /** The user's edits of the row (column → text), if any. */
  edits(row: number): ReadonlyMap<number, string> | undefined;
  /** Called with each data record's file offset before it is written; throws when the rows do not match the file. */
  check?(row: number, recordOffset: number): void;
}

/** What an export wrote, counted by the core. */
export interface ExportCounts {
  /** Data rows written (fewer than the rows with only-flagged). */
  rows: number;
  neutralizedCells: number;
  editedCells: number;
}

/**
 * The bytes before the header's search start that the download keeps: the BOM, and Excel's `sep=` line byte for
 * byte (so the download opens in Excel as the upload did). Empty for most files.
 */
export async function exportPreamble(file: ByteSource, sn: Sniffed): Promise<Uint8Array> {
  if (sn.separatorLine === null) return sn.hasBom ? new Uint8Array([0xef, 0xbb, 0xbf]) : new Uint8Array(0);
  const line = await readBytes(file, sn.hasBom ? 3 : 0, sn.dataStart);
  if (!sn.hasBom) return line;
  const out = new Uint8Array(3 + line.length);
  out.set([0xef, 0xbb, 0xbf]);
  out.set(line, 3);
  return out;
}

/** The fields of one record's text (its content without the line ending). */
function parseRecordFields(text: string, d: Delimiter): string[] {
  return parseText(text, 1, d, '\n')[0] ?? [''];
}

/**
 * The streaming export core. Feed it the preamble (`start`), then every split batch of the file from
 * `sniffed.dataStart` on, in order (`writeBatch`); it writes the header with the appended column names, then each
 * data record with its probability and prediction (only the flagged ones with `onlyFlagged`). Records that are
 * not rows (blank lines, lines of only delimiters) are copied as they are, except with `onlyFlagged`.
 *
 * Options for combining files into one output (the command-line tool's `--combine`): `sourceFile` puts a first
 * column with that text in front of every record (`source_file` in the header), `writeHeader: false` leaves the
 * header out (a second file of the same columns), `keepNonRows: false` drops blank and delimiter-only lines.
 */
export class CsvExportWriter {
  private readonly d: Delimiter;
  private readonly names: AppendedNames;
  private headerDone = false;
  private row = 0;
  private readonly counts: ExportCounts = { rows: 0, neutralizedCells: 0, editedCells: 0 };
  private readonly prefix: string;
  /** Columns after the two result columns, one cell per data row (the page's top_sensors option). */
  private readonly added: ExtraColumn[];

  constructor(
    private readonly layout: ExportLayout,
    private readonly sink: ExportSink,
    private readonly options: { sourceFile?: string; writeHeader?: boolean; keepNonRows?: boolean; added?: ExtraColumn[] } = {},
  ) {
    this.d = layout.sniffed.delimiter;
    this.added = options.added ?? [];
    this.names = appendedNames(layout.header, layout.widestRow - layout.header.length, this.added.map((c) => c.name));
    this.prefix = options.sourceFile === undefined ? '' : `${quoteField(options.sourceFile, this.d)}${this.d}`;
  }

  /** The header as the output writes it: the file's names, the extra_… names, the result names. */
  outputHeader(): string[] {
    const h = this.options.sourceFile === undefined ? [] : [sourceFileName(this.layout.header)];
    return [...h, ...this.layout.header, ...this.names.extra, this.names.probability, this.names.prediction, ...this.names.added];
  }

  /** The preamble (exportPreamble) goes first. */
  start(preamble: Uint8Array): void {
    if (preamble.length > 0) this.sink.push(preamble);
  }

  /** Data rows seen so far (written or not). */
  get dataRows(): number {
    return this.row;
  }

  result(): ExportCounts {
    return { ...this.counts };
  }

  /** Write the records of one split batch (offsets as splitRecords gives them). */
  writeBatch(batch: SplitBatch, rows: ExportRows): void {
    const { bytes } = batch;
    const { sink, d, layout } = this;
    const keepNonRows = (this.options.keepNonRows ?? true) && !layout.onlyFlagged;
    for (let r = 0; r < batch.starts.length; r++) {
      const st = batch.starts[r] as number;
      const ce = batch.contentEnds[r] as number;
      const en = batch.ends[r] as number;
      // Blank lines and lines of only delimiters are not rows: kept as they are (after the header).
      if (isBlankRecord(bytes, st, ce) || (this.headerDone && isDelimiterOnlyRecord(bytes, st, ce, d))) {
        if (keepNonRows) sink.push(bytes.subarray(st, en));
        continue;
      }
      if (!this.headerDone) {
        this.headerDone = true;
        if (this.options.writeHeader ?? true) this.writeHeader(bytes, st, ce, en);
        continue;
      }
      this.writeRow(batch, r, rows);
    }
  }

  private writeHeader(bytes: Uint8Array, st: number, ce: number, en: number): void {
    const { sink, d, layout } = this;
    const header = layout.header;
    if (this.prefix !== '') sink.text(`${quoteField(sourceFileName(header), d)}${d}`);
    if (header.some((h) => isFormulaLike(h))) sink.text(this.splice(decodeUtf8(bytes.subarray(st, ce)), header, undefined, header.length));
    else sink.push(bytes.subarray(st, ce));
    for (const name of [...this.names.extra, this.names.probability, this.names.prediction, ...this.names.added]) sink.text(`${d}${quoteField(name, d)}`);
    sink.push(bytes.subarray(ce, en));
  }

  private writeRow(batch: SplitBatch, r: number, rows: ExportRows): void {
    const { sink, d, layout } = this;
    const { bytes } = batch;
    const st = batch.starts[r] as number;
    const ce = batch.contentEnds[r] as number;
    const en = batch.ends[r] as number;
    const row = this.row++;
    rows.check?.(row, batch.offset + st);
    const p = rows.probability(row);
    const flagged = isFlagged(p, layout.threshold);
    if (layout.onlyFlagged && !flagged) return;
    const flags = rows.flags(row);
    const edits = rows.edits(row);
    const width = layout.widestRow;
    if (this.prefix !== '') sink.text(this.prefix);
    if (edits || (flags & FLAG_FORMULA) !== 0) {
      const text = decodeUtf8(bytes.subarray(st, ce));
      sink.text(this.splice(text, parseRecordFields(text, d), edits, width));
    } else {
      sink.push(bytes.subarray(st, ce));
      const fieldsCount = (flags & (FLAG_SHORT | FLAG_LONG)) !== 0 ? parseRecordFields(decodeUtf8(bytes.subarray(st, ce)), d).length : layout.header.length;
      // Pad a row narrower than the widest so the appended fields land under their headers.
      if (fieldsCount < width) sink.text(d.repeat(width - fieldsCount));
    }
    const prediction = predictionText(layout.predicted, rows.modelReadings(row), layout.modelSensors, p, flagged);
    sink.text(`${d}${shortestFloat32Text(p)}${d}${quoteField(prediction, d)}`);
    for (const column of this.added) sink.text(`${d}${quoteField(column.text(row), d)}`);
    sink.push(bytes.subarray(ce, en));
    this.counts.rows++;
  }

  /**
   * A record that must change (edits, formula-like cells) keeps the bytes of every other field: only the changed
   * fields are written anew. Falls back to writing every field when the raw split disagrees with the parse.
   */
  private splice(raw: string, fields: string[], edits: ReadonlyMap<number, string> | undefined, padTo: number): string {
    const d = this.d;
    const spans = rawFieldSpans(raw, d);
    if (spans.length !== fields.length * 2) return this.serialize(fields, edits, padTo);
    const n = Math.max(fields.length, padTo);
    const parts: string[] = [];
    for (let c = 0; c < n; c++) {
      const edit = edits?.get(c);
      if (edit !== undefined) {
        this.counts.editedCells++;
        const formula = isFormulaLike(edit);
        if (formula) this.counts.neutralizedCells++;
        parts.push(quoteField(formula ? neutralize(edit) : edit, d));
        continue;
      }
      if (c >= fields.length) {
        parts.push('');
        continue;
      }
      const text = raw.slice(spans[2 * c], spans[2 * c + 1]);
      if (isFormulaLike(fields[c] as string)) {
        this.counts.neutralizedCells++;
        // Insert ' before the value, inside the quotes when the field is quoted.
        parts.push(text.charCodeAt(0) === QUOTE ? `"${neutralize(text.slice(1))}` : neutralize(text));
      } else parts.push(text);
    }
    return parts.join(d);
  }

  private serialize(fields: string[], edits: ReadonlyMap<number, string> | undefined, padTo: number): string {
    const outFields = fields.slice();
    if (edits) {
      for (const [c, t] of edits) {
        while (outFields.length <= c) outFields.push('');
        outFields[c] = t;
        this.counts.editedCells++;
      }
    }
    for (let c = 0; c < outFields.length; c++) {
      const f = outFields[c] as string;
      if (isFormulaLike(f)) {
        outFields[c] = neutralize(f);
        this.counts.neutralizedCells++;
      }
    }
    while (outFields.length < padTo) outFields.push('');
    return outFields.map((f) => quoteField(f, this.d)).join(this.d);
  }
}

/** The name of the column a combined output adds in front: `source_file`, made unique against the header. */
export function sourceFileName(header: string[]): string {
  const taken = new Set(header.map((h) => h.trim().toLowerCase()));
  let name = 'source_file';
  for (let k = 1; taken.has(name); k++) name = `source_file_${k}`;
  return name;
}

export interface ExportRun {
  token: CancelToken;
  onProgress?: ProgressCallback | undefined;
  sliceSize?: number | undefined;
}

/** A Session's rows for the export core: its scores, flags and the user's edits. */
function sessionRows(s: Session): ExportRows {
  return {
    probability: (row) => s.probabilities[row] as number,
    flags: (row) => s.rowFlags[row] as number,
    modelReadings: (row) => s.modelReadings[row] as number,
    edits: (row) => s.edits.get(row),
    check: (row, offset) => {
      if (row >= s.rows || s.rowStart[row] !== offset) fileChanged();
    },
  };
}

function fileChanged(): never {
  return fail('internal', 'The file changed on disk since it was loaded; load it again before downloading.');
}

/**
 * The page's download: the session's file re-streamed through the export core, with the user's edits. `added`:
 * columns written after the two result columns (the top_sensors option; a name that collides with a header gets a
 * suffix as the result columns do).
 */
export async function exportCsv(s: Session, options: ExportOptions, run: ExportRun, added: ExtraColumn[] = []): Promise<ExportResult> {
  const sn = s.sniffed;
  const sink = new ByteSink();
  const layout: ExportLayout = { sniffed: sn, header: s.header, widestRow: s.widestRow, modelSensors: s.usedFeatures.length, predicted: s.predicted, ...options };
  const writer = new CsvExportWriter(layout, sink, { added });
  writer.start(await exportPreamble(s.file, sn));
  const rows = sessionRows(s);
  for await (const batch of splitRecords(s.file, { delimiter: sn.delimiter, lineEnding: sn.lineEnding, start: sn.dataStart, sliceSize: run.sliceSize ?? DEFAULT_SLICE_SIZE })) {
    run.token.throwIfCancelled();
    // The batch holds at most one data row per record.
    for (const column of added) await column.ready?.(writer.dataRows, writer.dataRows + batch.starts.length);
    writer.writeBatch(batch, rows);
    run.onProgress?.({ phase: 'export', done: batch.bytesRead, total: s.file.size });
    await yieldToEventLoop();
    run.token.throwIfCancelled();
  }
  if (writer.dataRows !== s.rows) fileChanged();
  const counts = writer.result();
  return {
    blob: sink.blob(),
    fileName: exportFileName(s.fileName, options.onlyFlagged),
    rows: counts.rows,
    threshold: options.threshold,
    neutralizedCells: counts.neutralizedCells,
    editedCells: counts.editedCells,
  };
}
