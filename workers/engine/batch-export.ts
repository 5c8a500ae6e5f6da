/**
 * A batch's downloads, layered on the single-file export (export.ts): each file's predictions are made by
 * exportCsv exactly as that file's own download, then either joined into one CSV (a `source_file` column first)
 * or put in a zip as they are. One file's export is in memory at a time (as a Blob, which the browser may keep
 * outside the JS heap); the output is written in parts into Blobs as it goes.
 */
import { Zip, ZipPassThrough } from 'fflate';
import type { ExportOptions, ExportResult, ProgressCallback } from '../api';
import { partSession } from './batch';
import { DEFAULT_SLICE_SIZE, decodeUtf8, isBlankRecord, isDelimiterOnlyRecord, quoteField, readBytes, splitRecords, yieldToEventLoop, type Delimiter } from './csv';
import { crc32 } from './crc32';
import { fail } from './errors';
import { appendedNames, exportCsv, exportFileName, rawFieldSpans, type ExportRun } from './export';
import type { BatchPart, Session } from './session';
import type { ExtraColumn } from './wafer-explain';
import { isFormulaLike, neutralize } from './validate';

/**
 * Slices of a file's export read ahead while the one before is written: a Blob is read from the browser's blob
 * store (another process), and one read at a time left the export waiting on each.
 */
const READ_AHEAD = 4;

/** Output bytes gathered in ~1 MB arrays, sealed into a Blob every 32 MB (the browser may keep those on disk). */
class BlobWriter {
  private readonly blobs: Blob[] = [];
  private parts: Uint8Array<ArrayBuffer>[] = [];
  private partBytes = 0;
  private readonly enc = new TextEncoder();
  size = 0;

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.parts.push(bytes.slice());
    this.partBytes += bytes.length;
    this.size += bytes.length;
    if (this.partBytes >= 32 << 20) this.seal();
  }
  text(s: string): void {
    this.push(this.enc.encode(s));
  }
  private seal(): void {
    if (this.parts.length > 0) this.blobs.push(new Blob(this.parts));
    this.parts = [];
    this.partBytes = 0;
  }
  blob(type: string): Blob {
    this.seal();
    return new Blob(this.blobs, { type });
  }
}

/** Many small pushes (one per record) joined into ~1 MB arrays before they go to the writer. */
class Chunker {
  private buf = new Uint8Array(1 << 20);
  private len = 0;
  private readonly enc = new TextEncoder();
  constructor(private readonly out: (bytes: Uint8Array) => void) {}

  push(bytes: Uint8Array): void {
    if (bytes.length > this.buf.length - this.len) {
      this.flush();
      if (bytes.length > this.buf.length) {
        this.out(bytes);
        return;
      }
    }
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }
  text(s: string): void {
    if (s.length * 3 <= this.buf.length - this.len) this.len += this.enc.encodeInto(s, this.buf.subarray(this.len)).written;
    else this.push(this.enc.encode(s));
  }
  flush(): void {
    if (this.len > 0) this.out(this.buf.subarray(0, this.len));
    this.len = 0;
  }
}

function partsOf(batch: Session): BatchPart[] {
  return batch.batch?.parts ?? fail('no-file', 'No batch is loaded.');
}

/** The name of the column naming each row's file: `source_file`, unless the files already have one. */
export function sourceColumnName(header: string[]): string {
  const taken = new Set(header.map((h) => h.trim().toLowerCase()));
  let name = 'source_file';
  for (let k = 1; taken.has(name); k++) name = `source_file_${k}`;
  return name;
}

interface Totals {
  rows: number;
  neutralizedCells: number;
  editedCells: number;
}

/** The columns a download adds after the results (the top_sensors option): their names, and each file's columns. */
export interface AddedColumns {
  names: string[];
  of(s: Session): Promise<ExtraColumn[]>;
}
export const NO_ADDED_COLUMNS: AddedColumns = { names: [], of: async () => [] };

/** Export one file of the batch as its own download (the file named in progress). */
async function exportPart(batch: Session, part: BatchPart, k: number, count: number, options: ExportOptions, run: ExportRun, totals: Totals, added: AddedColumns): Promise<{ s: Session; result: ExportResult }> {
  const s = partSession(batch, part);
  const onProgress: ProgressCallback = (p) => run.onProgress?.({ ...p, file: part.name, fileIndex: k, fileCount: count });
  const result = await exportCsv(s, options, { token: run.token, onProgress, sliceSize: run.sliceSize }, await added.of(s));
  totals.rows += result.rows;
  totals.neutralizedCells += result.neutralizedCells;
  totals.editedCells += result.editedCells;
  return { s, result };
}

function batchFileName(count: number, onlyFlagged: boolean, ext: string): string {
  return `batch_${count}_files_${onlyFlagged ? 'flagged' : 'predictions'}.${ext}`;
}

/**
 * One CSV of every file's predictions: `source_file` (the file's name in the batch) and then each record of that
 * file's own download, byte for byte; the header once. Lines that are not wafers (blank, only delimiters) are
 * left out: they would become rows with only a file name. When some file's rows are longer than the header, the
 * others are padded before the result columns, so every result sits under its header.
 */
export async function exportCombined(batch: Session, options: ExportOptions, run: ExportRun, added: AddedColumns = NO_ADDED_COLUMNS): Promise<ExportResult> {
  const parts = partsOf(batch);
  const d: Delimiter = batch.sniffed.delimiter;
  const ncol = batch.header.length;
  const width = batch.widestRow;
  const names = appendedNames(batch.header, width - ncol, added.names);
  const results = [names.probability, names.prediction, ...names.added];
  const writer = new BlobWriter();
  const out = new Chunker((b) => writer.push(b));
  const source = quoteField(sourceColumnName(batch.header), d);
  const totals: Totals = { rows: 0, neutralizedCells: 0, editedCells: 0 };
  for (const [k, part] of parts.entries()) {
    const { s, result } = await exportPart(batch, part, k, parts.length, options, run, totals, added);
    const pad = width - s.widestRow;
    const dataStart = s.sniffed.dataStart;
    // The first file's BOM and Excel `sep=` line open the combined file, as they open its own download.
    if (k === 0 && dataStart > 0) out.push(await readBytes(result.blob, 0, dataStart));
    const name = quoteField(isFormulaLike(part.name) ? neutralize(part.name) : part.name, d);
    let headerSeen = false;
    for await (const b of splitRecords(result.blob, { delimiter: d, lineEnding: s.sniffed.lineEnding, start: dataStart, sliceSize: run.sliceSize ?? DEFAULT_SLICE_SIZE, readAhead: READ_AHEAD })) {
      run.token.throwIfCancelled();
      for (let r = 0; r < b.starts.length; r++) {
        const st = b.starts[r] as number;
        const ce = b.contentEnds[r] as number;
        const en = b.ends[r] as number;
        if (isBlankRecord(b.bytes, st, ce) || (headerSeen && isDelimiterOnlyRecord(b.bytes, st, ce, d))) continue;
        const ending = en > ce ? b.bytes.subarray(ce, en) : null;
        if (!headerSeen) {
          headerSeen = true;
          if (k > 0) continue;
          out.text(`${source}${d}`);
          if (pad === 0) out.push(b.bytes.subarray(st, ce));
          else out.text(widerHeader(decodeUtf8(b.bytes.subarray(st, ce)), d, ncol, [...names.extra, ...results]));
        } else {
          out.text(`${name}${d}`);
          if (pad === 0) out.push(b.bytes.subarray(st, ce));
          else out.text(padBeforeResults(decodeUtf8(b.bytes.subarray(st, ce)), d, pad, results.length));
        }
        if (ending) out.push(ending);
        else out.text(batch.sniffed.lineEnding);
      }
      await yieldToEventLoop();
    }
  }
  out.flush();
  return { blob: writer.blob('text/csv;charset=utf-8'), fileName: batchFileName(parts.length, options.onlyFlagged, 'csv'), rows: totals.rows, threshold: options.threshold, ...pick(totals) };
}

function pick(t: Totals): Pick<ExportResult, 'neutralizedCells' | 'editedCells'> {
  return { neutralizedCells: t.neutralizedCells, editedCells: t.editedCells };
}

/** A header of `ncol` fields (as the file's download wrote them) with the batch's appended names. */
function widerHeader(text: string, d: Delimiter, ncol: number, appended: string[]): string {
  const spans = rawFieldSpans(text, d);
  const own = text.slice(0, spans[2 * ncol - 1]);
  return [own, ...appended.map((n) => quoteField(n, d))].join(d);
}

/** `pad` empty fields before the last `results` fields of one record of a narrower file's download. */
function padBeforeResults(text: string, d: Delimiter, pad: number, results: number): string {
  const spans = rawFieldSpans(text, d);
  const resultsStart = spans[spans.length - 2 * results] as number;
  return text.slice(0, resultsStart) + d.repeat(pad) + text.slice(resultsStart);
}

/** Entry names for the zip: the download name of each file, in its folder; a name given twice gets _2, _3 … */
export function zipEntryNames(names: string[], onlyFlagged: boolean): string[] {
  const used = new Set<string>();
  return names.map((n) => {
    const dir = n.includes('/') ? n.slice(0, n.lastIndexOf('/') + 1) : '';
    const base = exportFileName(n, onlyFlagged);
    let entry = `${dir}${base}`;
    for (let k = 2; used.has(entry.toLowerCase()); k++) entry = `${dir}${base.replace(/\.csv$/, `_${k}.csv`)}`;
    used.add(entry.toLowerCase());
    return entry;
  });
}

/** A zip entry's or the whole zip's size past what a zip without ZIP64 (fflate) can describe. */
const ZIP_LIMIT = 0xffffffff - (64 << 20);

/** A stored zip entry whose CRC is counted by crc32.ts (fflate's own is byte at a time). */
class StoredEntry extends ZipPassThrough {
  private running = 0;

  override push(chunk: Uint8Array, final?: boolean): void {
    this.running = crc32(chunk, this.running);
    this.size += chunk.length;
    if (final) this.crc = this.running;
    this.process(chunk, final ?? false);
  }
}

/**
 * A zip of one predictions file per loaded file, each exactly that file's own download. The entries are stored,
 * not deflated: readings written as text compress only about 2 : 1, and deflating cost 5–15 × the time of the
 * whole download (fflate level 1: 2.1 s for 16 MB, the runtime's zlib at its default level ≈ 1.8 s, storing
 * 0.14 s; this machine, 2026-12-01) — for a day's 540 MB, most of a minute.
 */
export async function exportZip(batch: Session, options: ExportOptions, run: ExportRun, added: AddedColumns = NO_ADDED_COLUMNS): Promise<ExportResult> {
  const parts = partsOf(batch);
  const writer = new BlobWriter();
  let zipError: Error | null = null;
  const zip = new Zip((err, chunk) => {
    if (err) zipError = err;
    else writer.push(chunk);
  });
  const entries = zipEntryNames(
    parts.map((p) => p.name),
    options.onlyFlagged,
  );
  const totals: Totals = { rows: 0, neutralizedCells: 0, editedCells: 0 };
  for (const [k, part] of parts.entries()) {
    const { result } = await exportPart(batch, part, k, parts.length, options, run, totals, added);
    if (result.blob.size > ZIP_LIMIT || writer.size + result.blob.size > ZIP_LIMIT) {
      fail('too-large', `The zip would pass 4 GB, more than a zip without ZIP64 can hold; download the combined CSV instead, or score the folder with the command-line tool (\`npx sensor-fault predict DIR -o OUT\`).`);
    }
    const entry = new StoredEntry(entries[k] as string);
    zip.add(entry);
    const slice = run.sliceSize ?? DEFAULT_SLICE_SIZE;
    const size = result.blob.size;
    // The next reads are asked for before this slice is stored, so the Blob reads overlap the CRC.
    const reads: Promise<Uint8Array>[] = [];
    const ask = (at: number) => {
      if (at >= size) return;
      const read = readBytes(result.blob, at, Math.min(size, at + slice));
      read.catch(() => undefined); // observed here: a cancel may leave reads unawaited
      reads.push(read);
    };
    for (let k = 0; k < READ_AHEAD; k++) ask(k * slice);
    for (let at = 0; at < size; at += slice) {
      const bytes = await (reads.shift() as Promise<Uint8Array>);
      ask(at + READ_AHEAD * slice);
      entry.push(bytes, false);
      if (zipError) throw zipError;
      run.token.throwIfCancelled();
      await yieldToEventLoop();
    }
    entry.push(new Uint8Array(0), true);
    if (zipError) throw zipError;
  }
  zip.end();
  if (zipError) throw zipError;
  return { blob: writer.blob('application/zip'), fileName: batchFileName(parts.length, options.onlyFlagged, 'zip'), rows: totals.rows, threshold: options.threshold, ...pick(totals) };
}
