/**
 * Parallel loading of quote-free files: each parse worker reads a byte range of the file itself, finds the
 * records that start in it, and converts them with the shared rows.ts code. The engine thread then never touches
 * the bytes; it only hands out ranges and files the rows in order. Reading, splitting and handing over the bytes
 * would otherwise make the engine thread the busiest thread of the load.
 *
 * Without quotes every line ending ends a record, so a worker can find its first record alone: the first one
 * that starts at or after the range start. With a quote character anywhere in what a worker reads, a record may
 * span lines and that no longer holds: the worker then converts nothing and the engine goes on from that range
 * with the sequential splitter (csv.ts). It does the same after any failure here, so every error message comes
 * from the one sequential path, with the right line numbers.
 */
import { MAX_RECORD_BYTES, QUOTE, nextRecordStart, readBytes, splitQuoteFree } from './csv';
import { recordsToRows, type RecordsJob, type RowsChunk, type RowsConfig } from './rows';

/** The records that start in [start, end) of `file`. */
export interface RangeJob {
  file: Blob;
  start: number;
  end: number;
  /** `start` is known to be a record start (the first data record after the header). */
  atRecordStart: boolean;
  /** Bytes to read past `end` at first, for the last record (default 64 KB; tests use tiny ones). */
  overhang?: number;
}

/** Bytes read past the range end for its last record; more is read when that record is longer. */
const DEFAULT_OVERHANG = 64 * 1024;

export type RangeResult =
  | {
      usable: true;
      /** File offset of the bytes the spans are relative to. */
      offset: number;
      starts: number[];
      contentEnds: number[];
      ends: number[];
      /** Rows of the records (null when no record starts in the range). */
      chunk: RowsChunk | null;
    }
  | { usable: false; reason: string };

/** Read, split and convert one range (in a parse worker). Row issue lines are relative: 0 = the first record. */
export async function rangeToRows(job: RangeJob, cfg: RowsConfig): Promise<RangeResult> {
  const { file, start, end } = job;
  const size = file.size;
  const base = job.atRecordStart ? start : start - 1;
  let bytes = await readBytes(file, base, Math.min(size, end + (job.overhang ?? DEFAULT_OVERHANG)));
  for (;;) {
    if (bytes.indexOf(QUOTE) !== -1) return { usable: false, reason: 'a quote character' };
    // The sequential splitter reports these two with their line (and reads no further).
    if (bytes.indexOf(0) !== -1) return { usable: false, reason: 'a NUL byte' };
    if (bytes.length > MAX_RECORD_BYTES) return { usable: false, reason: 'a record longer than MAX_RECORD_BYTES' };
    const eof = base + bytes.length >= size;
    const limit = end - base;
    const from = job.atRecordStart ? 0 : nextRecordStart(bytes, 1, limit);
    const spans = splitQuoteFree(bytes, from, limit, eof, cfg.lineEnding);
    if (spans) {
      const k = spans.starts.length;
      const lines = Array.from({ length: k }, (_, r) => r);
      const records: RecordsJob = { bytes, starts: spans.starts, contentEnds: spans.contentEnds, ends: spans.ends, lines, mixed: spans.mixed };
      let chunk: RowsChunk | null = null;
      try {
        if (k > 0) chunk = recordsToRows(records, 0, k, cfg);
      } catch (e) {
        return { usable: false, reason: e instanceof Error ? e.message : String(e) };
      }
      return { usable: true, offset: base, starts: spans.starts, contentEnds: spans.contentEnds, ends: spans.ends, chunk };
    }
    // The last record goes on past what was read: read as much again.
    const more = await readBytes(file, base + bytes.length, Math.min(size, base + bytes.length * 2 + 1));
    const grown = new Uint8Array(bytes.length + more.length);
    grown.set(bytes, 0);
    grown.set(more, bytes.length);
    bytes = grown;
  }
}
