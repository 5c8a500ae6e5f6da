/**
 * CSV export: re-streams the original file by bytes and appends fault_probability / prediction to each record.
 * Unedited records without formula-like cells are copied byte-identical; the others are re-serialized.
 */
import type { ExportOptions, ExportResult, ProgressCallback } from '../api';
import { isFlagged } from '../format';
import { DEFAULT_SLICE_SIZE, decodeUtf8, isBlankRecord, parseText, quoteField, readBytes, splitRecords, yieldToEventLoop, type Delimiter } from './csv';
import { type CancelToken, fail } from './errors';
import { FLAG_FORMULA, FLAG_SHORT, type Session } from './session';
import { FIELD_START, QUOTE, stepQuoteState, type QuoteState } from './quote-scan';
import { isFormulaLike, neutralize } from './validate';

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

/** Names for the appended columns that do not collide with the user's headers. */
export function appendedNames(header: string[]): [string, string] {
  const taken = new Set(header.map((h) => h.trim().toLowerCase()));
  const unique = (base: string) => {
    if (!taken.has(base)) return base;
    for (let k = 1; ; k++) {
      const name = `${base}_${k}`;
      if (!taken.has(name)) return name;
    }
  };
  const a = unique('fault_probability');
  taken.add(a);
  const b = unique('prediction');
  return [a, b];
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

export interface ExportRun {
  token: CancelToken;
  onProgress?: ProgressCallback | undefined;
  sliceSize?: number | undefined;
}

export async function exportCsv(s: Session, options: ExportOptions, run: ExportRun): Promise<ExportResult> {
  const sn = s.sniffed;
  const d: Delimiter = sn.delimiter;
  const sink = new ByteSink();
  if (sn.hasBom) sink.push(new Uint8Array([0xef, 0xbb, 0xbf]));
  // Excel's `sep=` line, byte for byte, so the download opens in Excel as the upload did.
  if (sn.separatorLine !== null) sink.push(await readBytes(s.file, sn.hasBom ? 3 : 0, sn.dataStart));
  const [probName, predName] = appendedNames(s.header);
  const ncol = s.header.length;
  let neutralizedCells = 0;
  let editedCells = 0;
  let written = 0;
  let row = -1; // -1 = before / at the header
  let headerDone = false;

  /**
   * A record that must change (edits, formula-like cells) keeps the bytes of every other field: only the changed
   * fields are written anew. Falls back to writing every field when the raw split disagrees with the parse.
   */
  const splice = (raw: string, fields: string[], edits: Map<number, string> | undefined): string => {
    const spans = rawFieldSpans(raw, d);
    if (spans.length !== fields.length * 2) return serialize(fields, edits);
    const n = Math.max(fields.length, ncol, ...(edits ? [...edits.keys()].map((c) => c + 1) : []));
    const parts: string[] = [];
    for (let c = 0; c < n; c++) {
      const edit = edits?.get(c);
      if (edit !== undefined) {
        editedCells++;
        const formula = isFormulaLike(edit, s.decimalComma);
        if (formula) neutralizedCells++;
        parts.push(quoteField(formula ? neutralize(edit) : edit, d));
        continue;
      }
      if (c >= fields.length) {
        parts.push('');
        continue;
      }
      const text = raw.slice(spans[2 * c], spans[2 * c + 1]);
      if (isFormulaLike(fields[c] as string, s.decimalComma)) {
        neutralizedCells++;
        // Insert ' before the value, inside the quotes when the field is quoted.
        parts.push(text.charCodeAt(0) === QUOTE ? `"${neutralize(text.slice(1))}` : neutralize(text));
      } else parts.push(text);
    }
    return parts.join(d);
  };

  const serialize = (fields: string[], edits: Map<number, string> | undefined): string => {
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
      if (isFormulaLike(f, s.decimalComma)) {
        outFields[c] = neutralize(f);
        neutralizedCells++;
      }
    }
    while (outFields.length < ncol) outFields.push('');
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
      if (isBlankRecord(bytes, st, ce)) {
        if (!options.onlyFlagged) sink.push(bytes.subarray(st, en));
        continue;
      }
      const recordText = (): string => decodeUtf8(bytes.subarray(st, ce));
      if (!headerDone) {
        headerDone = true;
        const hasFormula = s.header.some((h) => isFormulaLike(h, s.decimalComma));
        if (hasFormula) sink.text(splice(recordText(), s.header, undefined));
        else sink.push(bytes.subarray(st, ce));
        sink.text(`${d}${quoteField(probName, d)}${d}${quoteField(predName, d)}`);
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
        const fieldsCount = ((s.rowFlags[row] as number) & FLAG_SHORT) !== 0 ? parseRecordFields(recordText()).length : ncol;
        if (edits || ((s.rowFlags[row] as number) & FLAG_FORMULA) !== 0) {
          const text = recordText();
          sink.text(splice(text, parseRecordFields(text), edits));
        } else {
          sink.push(bytes.subarray(st, ce));
          // Pad a short row so the appended fields land under their headers.
          if (fieldsCount < ncol) sink.text(d.repeat(ncol - fieldsCount));
        }
        sink.text(`${d}${shortestFloat32Text(p)}${d}${Number.isNaN(p) ? '' : flagged ? 'Fault' : 'OK'}`);
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
