/**
 * CSV export: re-streams the original file by bytes and appends fault_probability / prediction to each record.
 * Unedited records without formula-like cells are copied byte-identical; the others are re-serialized.
 */
import type { ExportOptions, ExportResult, ProgressCallback } from '../api';
import { isFlagged, isLowCoverage } from '../format';
import { DEFAULT_SLICE_SIZE, decodeUtf8, isBlankRecord, isDelimiterOnlyRecord, parseText, quoteField, readBytes, splitRecords, yieldToEventLoop, type Delimiter } from './csv';
import { type CancelToken, fail } from './errors';
import { FLAG_FORMULA, FLAG_LONG, FLAG_SHORT, type Session } from './session';
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
class ByteSink {
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
export function predictionText(s: Session, row: number, p: number, flagged: boolean): string {
  const readings = s.modelReadings[row] as number;
  const sensors = s.usedFeatures.length;
  const low = isLowCoverage(readings, sensors);
  const coverage = `${readings} of ${sensors} model sensors read`;
  if (Number.isNaN(p)) return s.predicted && low ? `Not scored: low coverage (${coverage})` : '';
  const label = flagged ? 'Fault' : 'OK';
  return low ? `${label} (low coverage: ${coverage})` : label;
}

export interface ExportRun {
  token: CancelToken;
  onProgress?: ProgressCallback | undefined;
  sliceSize?: number | undefined;
}

/**
 * `added`: columns written after the two result columns, one cell per data row (the per-row hook the page's
 * top_sensors option uses; a name that collides with a header gets a suffix as the result columns do).
 */
export async function exportCsv(s: Session, options: ExportOptions, run: ExportRun, added: ExtraColumn[] = []): Promise<ExportResult> {
  const sn = s.sniffed;
  const d: Delimiter = sn.delimiter;
  const sink = new ByteSink();
  if (sn.hasBom) sink.push(new Uint8Array([0xef, 0xbb, 0xbf]));
  // Excel's `sep=` line, byte for byte, so the download opens in Excel as the upload did.
  if (sn.separatorLine !== null) sink.push(await readBytes(s.file, sn.hasBom ? 3 : 0, sn.dataStart));
  const ncol = s.header.length;
  const names = appendedNames(s.header, s.widestRow - ncol, added.map((c) => c.name));
  // Every record is padded to the widest one, so the result columns sit under their own headers in a spreadsheet.
  const width = s.widestRow;
  let neutralizedCells = 0;
  let editedCells = 0;
  let written = 0;
  let row = -1; // -1 = before / at the header
  let headerDone = false;

  /**
   * A record that must change (edits, formula-like cells) keeps the bytes of every other field: only the changed
   * fields are written anew. Falls back to writing every field when the raw split disagrees with the parse.
   */
  const splice = (raw: string, fields: string[], edits: Map<number, string> | undefined, padTo: number): string => {
    const spans = rawFieldSpans(raw, d);
    if (spans.length !== fields.length * 2) return serialize(fields, edits, padTo);
    const n = Math.max(fields.length, padTo);
    const parts: string[] = [];
    for (let c = 0; c < n; c++) {
      const edit = edits?.get(c);
      if (edit !== undefined) {
        editedCells++;
        const formula = isFormulaLike(edit);
        if (formula) neutralizedCells++;
        parts.push(quoteField(formula ? neutralize(edit) : edit, d));
        continue;
      }
      if (c >= fields.length) {
        parts.push('');
        continue;
      }
      const text = raw.slice(spans[2 * c], spans[2 * c + 1]);
      if (isFormulaLike(fields[c] as string)) {
        neutralizedCells++;
        // Insert ' before the value, inside the quotes when the field is quoted.
        parts.push(text.charCodeAt(0) === QUOTE ? `"${neutralize(text.slice(1))}` : neutralize(text));
      } else parts.push(text);
    }
    return parts.join(d);
  };

  const serialize = (fields: string[], edits: Map<number, string> | undefined, padTo: number): string => {
    const outFields = fields.slice();
    if (edits) {
      for (const [c, t] of edits) {
        while (outFields.length <= c) outFields.push('');
        outFields[c] = t;
        editedCells++;
      }
    }
    for (let c = 0; c < outFields.length; c++) {
      const f = outFields[c] as string;
      if (isFormulaLike(f)) {
        outFields[c] = neutralize(f);
        neutralizedCells++;
      }
    }
    while (outFields.length < padTo) outFields.push('');
    return outFields.map((f) => quoteField(f, d)).join(d);
  };

  /** The fields of one record's text (its content without the line ending). */
  const parseRecordFields = (text: string): string[] => parseText(text, 1, d, '\n')[0] ?? [''];

  for await (const batch of splitRecords(s.file, { delimiter: d, lineEnding: sn.lineEnding, start: sn.dataStart, sliceSize: run.sliceSize ?? DEFAULT_SLICE_SIZE })) {
    run.token.throwIfCancelled();
    const bytes = batch.bytes;
    for (let r = 0; r < batch.starts.length; r++) {
      const st = batch.starts[r] as number;
      const ce = batch.contentEnds[r] as number;
      const en = batch.ends[r] as number;
      // Blank lines and lines of only delimiters are not rows: kept as they are (after the header).
      if (isBlankRecord(bytes, st, ce) || (headerDone && isDelimiterOnlyRecord(bytes, st, ce, d))) {
        if (!options.onlyFlagged) sink.push(bytes.subarray(st, en));
        continue;
      }
      const recordText = (): string => decodeUtf8(bytes.subarray(st, ce));
      if (!headerDone) {
        headerDone = true;
        const hasFormula = s.header.some((h) => isFormulaLike(h));
        if (hasFormula) sink.text(splice(recordText(), s.header, undefined, ncol));
        else sink.push(bytes.subarray(st, ce));
        for (const name of [...names.extra, names.probability, names.prediction, ...names.added]) sink.text(`${d}${quoteField(name, d)}`);
        sink.push(bytes.subarray(ce, en));
        row = 0;
        continue;
      }
      if (row >= s.rows || s.rowStart[row] !== batch.offset + st) {
        fail('internal', 'The file changed on disk since it was loaded; load it again before downloading.');
      }
      const p = s.probabilities[row] as number;
      const flagged = isFlagged(p, options.threshold);
      if (!options.onlyFlagged || flagged) {
        const edits = s.edits.get(row);
        const fieldsCount = ((s.rowFlags[row] as number) & (FLAG_SHORT | FLAG_LONG)) !== 0 ? parseRecordFields(recordText()).length : ncol;
        if (edits || ((s.rowFlags[row] as number) & FLAG_FORMULA) !== 0) {
          const text = recordText();
          sink.text(splice(text, parseRecordFields(text), edits, width));
        } else {
          sink.push(bytes.subarray(st, ce));
          // Pad a row narrower than the widest so the appended fields land under their headers.
          if (fieldsCount < width) sink.text(d.repeat(width - fieldsCount));
        }
        sink.text(`${d}${shortestFloat32Text(p)}${d}${quoteField(predictionText(s, row, p, flagged), d)}`);
        for (const column of added) sink.text(`${d}${quoteField(column.text(row), d)}`);
        sink.push(bytes.subarray(ce, en));
        written++;
      }
      row++;
    }
    run.onProgress?.({ phase: 'export', done: batch.bytesRead, total: s.file.size });
    await yieldToEventLoop();
    run.token.throwIfCancelled();
  }
  if (row !== s.rows) fail('internal', 'The file changed on disk since it was loaded; load it again before downloading.');
  return {
    blob: sink.blob(),
    fileName: exportFileName(s.fileName, options.onlyFlagged),
    rows: written,
    threshold: options.threshold,
    neutralizedCells,
    editedCells,
  };
}
