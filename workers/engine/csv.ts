/**
 * Byte-level CSV handling: sniffing (encoding, BOM, delimiter, line ending) and a quote-aware record splitter
 * that streams a Blob in slices and reports each record's byte span. The text of complete records is handed to
 * PapaParse, whose record count must match the splitter's.
 *
 * Splitting on bytes is safe in UTF-8: the ASCII bytes `"`, `,`, `;`, TAB, CR and LF never occur inside a
 * multi-byte sequence.
 */
import Papa from 'papaparse';
import { formatCount } from '../format';
import { refuseKnownBinary } from './compressed';
import { fail } from './errors';
import { CR, FIELD_START, isLineBreak, lineBreakEndsRecord, LF, nextDelimiterOrLineBreak, nextQuoteOrLineBreak, QUOTE, QUOTED, SPACE, stepQuoteState, TAB, UNQUOTED, type QuoteState } from './quote-scan';

export { QUOTE };

export type Delimiter = ',' | ';' | '\t';
export type LineEnding = '\n' | '\r\n' | '\r';

export const DEFAULT_SLICE_SIZE = 1 << 20;

export interface Sniffed {
  delimiter: Delimiter;
  lineEnding: LineEnding;
  hasBom: boolean;
  /** Byte offset of the header's search start: after the BOM (0 or 3) and after Excel's `sep=` line, if any. */
  dataStart: number;
  /** Excel's first line `sep=;` naming the delimiter (its text without the line ending), or null. */
  separatorLine: string | null;
  /** 1-based line at dataStart (2 after a `sep=` line). */
  firstLine: number;
}

/** How many bytes to read for sniffing. */
export const SNIFF_BYTES = 64 * 1024;

function isWhitespaceByte(b: number): boolean {
  return b === SPACE || b === TAB || b === LF || b === CR || b === 0x0b || b === 0x0c;
}

/** Cut a UTF-8 buffer back to the last complete character (for decoding a head that ends mid-sequence). */
function trimIncompleteUtf8(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  // Walk back over at most 3 continuation bytes to the lead byte.
  let i = n - 1;
  let cont = 0;
  while (i >= 0 && cont < 3 && ((bytes[i] ?? 0) & 0xc0) === 0x80) {
    i--;
    cont++;
  }
  if (i < 0) return bytes;
  const lead = bytes[i] ?? 0;
  let need = 1;
  if (lead >= 0xf0) need = 4;
  else if (lead >= 0xe0) need = 3;
  else if (lead >= 0xc0) need = 2;
  if (need > 1 && cont + 1 < need) return bytes.subarray(0, i);
  return bytes;
}

/**
 * Inspect the first bytes of a file. `head` is the first SNIFF_BYTES (or the whole file when smaller).
 * Throws EngineFailure 'empty-file' | 'utf16' | 'not-text'.
 */
export function sniff(head: Uint8Array, fileSize: number): Sniffed {
  const whole = head.length >= fileSize;
  if (fileSize === 0) fail('empty-file', 'The file is empty (0 bytes).');
  refuseKnownBinary(head);
  const b0 = head[0];
  const b1 = head[1];
  if ((b0 === 0xff && b1 === 0xfe) || (b0 === 0xfe && b1 === 0xff)) {
    fail('utf16', 'This file is encoded as UTF-16 (Unicode text). Please save it as "CSV UTF-8 (comma delimited)" and upload it again.');
  }
  // NUL bytes: many in alternating positions → UTF-16 without BOM; otherwise binary.
  const probe = head.subarray(0, Math.min(head.length, 4096));
  let nulEven = 0;
  let nulOdd = 0;
  for (let i = 0; i < probe.length; i++) {
    if (probe[i] === 0) {
      if (i % 2 === 0) nulEven++;
      else nulOdd++;
    }
  }
  const half = probe.length / 2;
  if (half >= 2 && (nulOdd > half * 0.3 || nulEven > half * 0.3) && Math.min(nulOdd, nulEven) < half * 0.05) {
    fail('utf16', 'This file looks like UTF-16 text. Please save it as "CSV UTF-8 (comma delimited)" and upload it again.');
  }
  let nulAll = nulEven + nulOdd;
  for (let i = probe.length; i < head.length; i++) if (head[i] === 0) nulAll++;
  if (nulAll > 0) {
    fail('not-text', 'This file is not a text CSV file (it contains binary data). Please upload the CSV export of your sensor readings.');
  }
  const hasBom = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf;
  const bomEnd = hasBom ? 3 : 0;
  const separator = readSeparatorLine(head, bomEnd);
  const dataStart = separator ? separator.end : bomEnd;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(whole ? head : trimIncompleteUtf8(head));
  } catch {
    fail('not-text', 'This file is not valid UTF-8 text (it may be binary, or saved in another encoding). Please save it as "CSV UTF-8" and upload it again.');
  }
  let allBlank = true;
  for (let i = dataStart; i < head.length; i++) {
    if (!isWhitespaceByte(head[i] ?? 0)) {
      allBlank = false;
      break;
    }
  }
  if (allBlank && whole) fail('empty-file', 'The file is empty (it contains only blank lines).');

  // Header line = first non-blank line.
  let i = dataStart;
  while (i < head.length && (head[i] === LF || head[i] === CR)) i++;
  const { counts, lineEnding } = scanHeaderLine(head, i, whole);
  let delimiter: Delimiter = ',';
  if (counts[';'] > counts[delimiter]) delimiter = ';';
  if (counts['\t'] > counts[delimiter]) delimiter = '\t';
  if (separator) delimiter = separator.delimiter;
  return { delimiter, lineEnding: lineEnding ?? '\n', hasBom, dataStart, separatorLine: separator?.text ?? null, firstLine: separator ? 2 : 1 };
}

const SEPARATOR_LINE = /^sep=(.?)(\r\n|\n|\r|$)/i;
const DELIMITER_OF: Record<string, Delimiter> = { ',': ',', ';': ';', '\t': '\t' };

/**
 * Excel's `sep=;` first line (written by Excel and by some exports so that Excel splits the columns): it names the
 * delimiter and is not the header. Null when the file does not start with one.
 */
function readSeparatorLine(head: Uint8Array, from: number): { delimiter: Delimiter; text: string; end: number } | null {
  const start = new TextDecoder('latin1').decode(head.subarray(from, from + 8));
  const match = SEPARATOR_LINE.exec(start);
  if (!match) return null;
  const char = match[1] ?? '';
  const delimiter = DELIMITER_OF[char];
  const text = `sep=${char}`;
  if (delimiter === undefined) {
    const shown = char === '' ? 'no character' : `“${char}”`;
    fail('malformed-csv', `The first line “${text}” asks for ${shown} as the delimiter; this app reads files separated by commas, semicolons or tabs. Save the file as “CSV UTF-8 (comma delimited)” and upload it again.`);
  }
  return { delimiter, text, end: from + match[0].length };
}

const COMMA = 0x2c;
const SEMICOLON = 0x3b;
/** A code no byte has: stepQuoteState's delimiter for a byte that is not one. */
const NOT_A_DELIMITER = -1;

/**
 * Count each candidate delimiter outside quoted fields on the header line that starts at `from`, and find the
 * line's ending (null when it does not end within `head`). The delimiter is not known yet, so each candidate
 * separates fields: a quote opens a quoted field after any of them.
 */
function scanHeaderLine(head: Uint8Array, from: number, whole: boolean): { counts: Record<Delimiter, number>; lineEnding: LineEnding | null } {
  const counts = { ',': 0, ';': 0, '\t': 0 };
  let state: QuoteState = FIELD_START;
  for (let i = from; i < head.length; i++) {
    const c = head[i] as number;
    if (isLineBreak(c) && lineBreakEndsRecord(state)) {
      if (c === LF) return { counts, lineEnding: '\n' };
      // A CR as the last byte of a head that is not the whole file may be the first of a CR LF pair.
      const crLf = head[i + 1] === LF || (i + 1 >= head.length && !whole);
      return { counts, lineEnding: crLf ? '\r\n' : '\r' };
    }
    const candidate = c === COMMA || c === SEMICOLON || c === TAB;
    state = stepQuoteState(state, c, candidate ? c : NOT_A_DELIMITER);
    if (state === FIELD_START) counts[c === COMMA ? ',' : c === SEMICOLON ? ';' : '\t']++;
  }
  return { counts, lineEnding: null };
}

/** Records completed within one slice. Offsets are relative to `bytes`; `offset` is the file offset of bytes[0]. */
export interface SplitBatch {
  bytes: Uint8Array;
  offset: number;
  /** Per record: start, end of content (before the terminator), end (after the terminator). */
  starts: number[];
  contentEnds: number[];
  ends: number[];
  /** 1-based physical line on which each record starts. */
  lines: number[];
  /** True when some record here ends with a line ending other than the expected one. */
  mixed: boolean;
  /** File offset up to which bytes have been read. */
  bytesRead: number;
}

export interface SplitOptions {
  delimiter: Delimiter;
  lineEnding: LineEnding;
  /** File offset to start at (after the BOM). */
  start: number;
  /** File offset to stop at (default: blob size). */
  end?: number;
  sliceSize?: number;
  /** Line number of the record at `start` (default 1). */
  firstLine?: number;
  /** Slices read ahead of the one being handed out (default 1). */
  readAhead?: number;
  /**
   * Keep no reference to a batch's `bytes` once it is handed out (the incomplete tail is copied), so the caller
   * may transfer `bytes.buffer` — which then holds exactly `bytes` — to another thread. Default false.
   */
  ownBuffers?: boolean;
}

/**
 * Longest record the splitter accepts (a row of 590 readings is ≈ 10 KB). A longer one is no CSV row: without the
 * limit, bytes without a line break (a damaged or binary file) would be carried from slice to slice until the tab
 * runs out of memory.
 */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

/**
 * Refuse a slice holding a NUL byte: no text CSV has one, and a file extended with zeros (truncate, a failed copy)
 * is otherwise read to its end. `offset` is the byte's file offset, `line` the line it is on.
 */
export function failOnNul(offset: number, line: number): never {
  fail(
    'not-text',
    `This file is not a text CSV file: line ${formatCount(line)} (byte ${formatCount(offset)}) holds binary data (a NUL byte), ` +
      'as in a file padded with zeros by a failed copy. Reading stopped there. Please upload the CSV export of your sensor readings.',
  );
}

/**
 * What the reading code needs of a file: its size and byte ranges. A Blob (a File in the page) is one; the
 * command-line tool gives its own (cli/file-source.ts: Node's file-backed Blob cannot address past 4 GiB).
 */
export interface ByteSource {
  readonly size: number;
  slice(start: number, end: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

export async function readBytes(blob: ByteSource, start: number, end: number): Promise<Uint8Array> {
  return new Uint8Array(await blob.slice(start, end).arrayBuffer());
}

/**
 * Stream the blob in slices and yield the complete records of each slice. Records end at the line breaks
 * outside quoted fields, by PapaParse's quote rules as quote-scan.ts implements them.
 */
export async function* splitRecords(blob: ByteSource, opts: SplitOptions): AsyncGenerator<SplitBatch> {
  const sliceSize = Math.max(1, opts.sliceSize ?? DEFAULT_SLICE_SIZE);
  const end = opts.end ?? blob.size;
  const delim = opts.delimiter.charCodeAt(0);
  const expected = opts.lineEnding;
  let pos = opts.start;
  let carry: Uint8Array = new Uint8Array(0);
  let carryOffset = pos;
  let state: QuoteState = FIELD_START;
  let line = opts.firstLine ?? 1;
  let recLine = line;
  // Index (in the next buffer) where scanning resumes; state applies to bytes before it.
  let scanFrom = 0;
  // Read-ahead: the next slice(s) are requested before this one is handed out, so the disk read overlaps the
  // caller's parsing. (A rejection is observed when awaited; the no-op catch avoids an unhandled one if the
  // caller stops early.)
  const startRead = (from: number): Promise<Uint8Array> | null => {
    const to = Math.min(end, from + sliceSize);
    if (from >= to) return null;
    const p = readBytes(blob, from, to);
    p.catch(() => undefined);
    return p;
  };
  // Reads in flight, in file order: reads[0] is the next slice. `readFrom` is where the next read to start begins.
  const depth = Math.max(1, opts.readAhead ?? 1);
  const reads: Promise<Uint8Array>[] = [];
  let readFrom = pos;
  const fillReads = () => {
    while (reads.length < depth) {
      const p = startRead(readFrom);
      if (!p) break;
      reads.push(p);
      readFrom = Math.min(end, readFrom + sliceSize);
    }
  };
  fillReads();
  while (pos < end || carry.length > 0) {
    const readEnd = Math.min(end, pos + sliceSize);
    const eof = readEnd >= end;
    let buf: Uint8Array;
    if (pos < readEnd) {
      const slice = await (reads.shift() ?? readBytes(blob, pos, readEnd));
      fillReads();
      if (carry.length === 0) buf = slice;
      else {
        buf = new Uint8Array(carry.length + slice.length);
        buf.set(carry, 0);
        buf.set(slice, carry.length);
      }
      const nul = slice.indexOf(0);
      if (nul !== -1) failOnNul(pos + nul, line + countLineBreaks(buf, scanFrom, carry.length + nul));
    } else buf = carry;
    pos = readEnd;
    const offset = carryOffset;
    const starts: number[] = [];
    const contentEnds: number[] = [];
    const ends: number[] = [];
    const lines: number[] = [];
    let mixed = false;
    let recStart = 0;
    let i = scanFrom;
    const n = buf.length;
    let stoppedEarly = false;
    // Fast path for the common case: outside a quoted field, and no quote or CR from here to the end of the
    // buffer. Then every LF ends a record, so records are found with the native indexOf instead of the byte
    // loop below; the loop then scans only the incomplete tail record.
    if ((state === FIELD_START || state === UNQUOTED) && buf.indexOf(QUOTE, i) === -1 && buf.indexOf(CR, i) === -1) {
      let j = buf.indexOf(LF, i);
      if (j !== -1) {
        if (expected !== '\n') mixed = true;
        do {
          starts.push(recStart);
          contentEnds.push(j);
          ends.push(j + 1);
          lines.push(recLine);
          line++;
          recLine = line;
          i = j + 1;
          recStart = i;
          j = buf.indexOf(LF, i);
        } while (j !== -1);
        state = FIELD_START;
      }
    }
    while (i < n) {
      // Jump over the bytes that cannot change the state (most of them).
      if (state === QUOTED) i = nextQuoteOrLineBreak(buf, i, n);
      else if (state === UNQUOTED) i = nextDelimiterOrLineBreak(buf, i, n, delim);
      if (i === n) break;
      const c = buf[i] as number;
      if (!isLineBreak(c)) {
        state = stepQuoteState(state, c, delim);
        i++;
        continue;
      }
      let termLen = 1;
      let term: LineEnding = '\n';
      if (c === CR) {
        // Whether the CR is one of a CR LF pair depends on the next byte, which the next slice holds.
        if (i + 1 >= n && !eof) {
          stoppedEarly = true;
          break;
        }
        if (buf[i + 1] === LF) {
          termLen = 2;
          term = '\r\n';
        } else term = '\r';
      }
      if (!lineBreakEndsRecord(state)) {
        // Inside a quoted field: part of the field. It still counts as a line; a CR LF pair counts at its LF.
        if (termLen === 1) line++;
        i++;
        continue;
      }
      if (term !== expected) mixed = true;
      starts.push(recStart);
      contentEnds.push(i);
      ends.push(i + termLen);
      lines.push(recLine);
      line++;
      recLine = line;
      i += termLen;
      recStart = i;
      state = FIELD_START;
    }
    if (eof && !stoppedEarly && recStart < n) {
      starts.push(recStart);
      contentEnds.push(n);
      ends.push(n);
      lines.push(recLine);
      recStart = n;
    }
    const done = eof && !stoppedEarly;
    if (done) {
      carry = new Uint8Array(0);
    } else {
      carry = opts.ownBuffers ? buf.slice(recStart) : buf.subarray(recStart);
      carryOffset = offset + recStart;
      scanFrom = i - recStart;
    }
    if (carry.length > MAX_RECORD_BYTES) {
      fail('malformed-csv', `The file is not valid CSV: the record on line ${formatCount(recLine)} goes on for more than ${MAX_RECORD_BYTES / 1024 / 1024} MB without ending (a row of sensor readings is a few KB).`);
    }
    yield { bytes: buf, offset, starts, contentEnds, ends, lines, mixed, bytesRead: pos };
    if (done) break;
  }
}

/** Byte spans of records (offsets relative to the bytes they were found in). */
export interface RecordSpans {
  starts: number[];
  contentEnds: number[];
  ends: number[];
  /** True when some record ends with a line ending other than the expected one. */
  mixed: boolean;
}

/**
 * In bytes without a quote character, where the first record that starts at or after index `from` begins: just
 * after the first line ending that ends at `from` or later (so `from` itself when bytes[from - 1] ends a line).
 * The search starts at `from - 1`, which must be a valid index. Returns `limit` when no record starts before
 * `limit`; this needs no byte at or past `limit` except the one after a CR at `limit - 1`, and then only to tell
 * `limit` from `limit + 1`, both "none".
 */
export function nextRecordStart(bytes: Uint8Array, from: number, limit: number): number {
  for (let i = from - 1; i < limit - 1; i++) {
    const c = bytes[i] as number;
    if (c === LF) return i + 1;
    if (c === CR) return bytes[i + 1] === LF ? i + 2 : i + 1;
  }
  return limit;
}

/**
 * Split bytes without a quote character into records, as splitRecords does outside quoted fields: every LF,
 * CR LF or lone CR ends a record, and at the end of the file a last record may have no line ending. `from` is
 * a record start; the records that start before `limit` are returned. Null when the last of them does not end
 * within `bytes` and the file goes on (`eof` false): the caller reads more and asks again.
 */
export function splitQuoteFree(bytes: Uint8Array, from: number, limit: number, eof: boolean, expected: LineEnding): RecordSpans | null {
  const n = bytes.length;
  const spans: RecordSpans = { starts: [], contentEnds: [], ends: [], mixed: false };
  // Without a CR every record ends at the next LF, found by the native indexOf.
  const hasCr = bytes.indexOf(CR, from) !== -1;
  let i = from;
  while (i < limit) {
    let j = i;
    if (hasCr) {
      while (j < n && bytes[j] !== LF && bytes[j] !== CR) j++;
    } else {
      j = bytes.indexOf(LF, i);
      if (j === -1) j = n;
    }
    if (j >= n) {
      if (!eof) return null;
      spans.starts.push(i);
      spans.contentEnds.push(n);
      spans.ends.push(n);
      break;
    }
    let termLen = 1;
    let term: LineEnding = '\n';
    if (bytes[j] === CR) {
      if (j + 1 >= n && !eof) return null;
      if (bytes[j + 1] === LF) {
        termLen = 2;
        term = '\r\n';
      } else term = '\r';
    }
    if (term !== expected) spans.mixed = true;
    spans.starts.push(i);
    spans.contentEnds.push(j);
    spans.ends.push(j + termLen);
    i = j + termLen;
  }
  return spans;
}

/** Line breaks in bytes[from, to): LF, CR LF and lone CR each count one (as splitRecords counts lines). */
export function countLineBreaks(bytes: Uint8Array, from: number, to: number): number {
  let count = 0;
  for (let i = from; i < to; i++) {
    const c = bytes[i];
    if (c === LF || (c === CR && bytes[i + 1] !== LF)) count++;
  }
  return count;
}

/**
 * Whether a record holds delimiters and nothing else but spaces and tabs (e.g. the `,,,,` lines a spreadsheet
 * writes below its data). Such a line has no reading and no name: it is reported, not read as a wafer.
 */
export function isDelimiterOnlyRecord(bytes: Uint8Array, start: number, contentEnd: number, delimiter: Delimiter): boolean {
  const delim = delimiter.charCodeAt(0);
  let delimiters = 0;
  for (let i = start; i < contentEnd; i++) {
    const c = bytes[i];
    if (c === delim) delimiters++;
    else if (c !== SPACE && c !== TAB) return false;
  }
  return delimiters > 0;
}

/** Whether a record's content is a blank line (no characters, or only spaces). Blank lines are not rows. */
export function isBlankRecord(bytes: Uint8Array, start: number, contentEnd: number): boolean {
  for (let i = start; i < contentEnd; i++) if (bytes[i] !== SPACE) return false;
  return true;
}

// ignoreBOM: a U+FEFF at the start of a record is content (e.g. two exported files joined with `cat`); the file's
// own BOM is skipped by offset (Sniffed.dataStart). Without it, a record would lose the character or not depending
// on where a slice happens to start, and the export would re-read it differently from the load.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function decodeUtf8(bytes: Uint8Array, lineHint?: number): string {
  try {
    return decoder.decode(bytes);
  } catch {
    fail('not-text', `The file is not valid UTF-8 text${lineHint !== undefined ? ` (near line ${lineHint})` : ''}. Please save it as "CSV UTF-8" and upload it again.`);
  }
}

/** Parse the records [from, to) of a batch into fields, one entry per record (blank records included). */
export function parseBatchRecords(batch: SplitBatch, from: number, to: number, delimiter: Delimiter, lineEnding: LineEnding): string[][] {
  const count = to - from;
  if (count <= 0) return [];
  const firstLine = batch.lines[from] ?? 0;
  let text: string;
  let newline: LineEnding = lineEnding;
  if (!batch.mixed) {
    try {
      text = decoder.decode(batch.bytes.subarray(batch.starts[from], batch.contentEnds[to - 1]));
    } catch {
      // Find the record with the invalid bytes, for the message.
      for (let r = from; r < to; r++) decodeUtf8(batch.bytes.subarray(batch.starts[r], batch.ends[r]), batch.lines[r]);
      return decodeUtf8(batch.bytes.subarray(batch.starts[from], batch.contentEnds[to - 1]), firstLine) as never;
    }
  } else {
    const parts: string[] = [];
    for (let r = from; r < to; r++) parts.push(decodeUtf8(batch.bytes.subarray(batch.starts[r], batch.contentEnds[r]), batch.lines[r]));
    text = parts.join('\n');
    newline = '\n';
  }
  return parseText(text, count, delimiter, newline, batch.lines, from);
}

/**
 * The one PapaParse configuration: our own worker already runs off the main thread (Papa's `worker: true` breaks
 * under bundlers); records were split by bytes first, so empty lines must stay records for the counts to match.
 * fastMode (no quote handling) only when the text has no quote character.
 */
export function papaConfig(delimiter: Delimiter, newline: LineEnding, fastMode: boolean) {
  return {
    delimiter,
    newline,
    quoteChar: '"',
    escapeChar: '"',
    header: false,
    dynamicTyping: false,
    worker: false,
    skipEmptyLines: false,
    fastMode,
  } as const;
}

/** Papa-parse `text` expected to hold `count` records; throws 'malformed-csv' otherwise. */
export function parseText(text: string, count: number, delimiter: Delimiter, newline: LineEnding, lines?: number[], lineBase = 0): string[][] {
  if (text === '') {
    if (count === 1) return [['']];
  }
  // PapaParse drops one leading U+FEFF as a BOM; here it is content (the file's BOM is skipped by offset), so
  // give Papa one to drop. With quotes, the last record gets its terminator back: Papa accepts a closing quote
  // followed by spaces before a line break but not before the end of the input, so without it a record would
  // parse differently as the last one of a slice (or alone, for the grid and the export) than in the middle.
  const quoted = text.includes('"');
  const input = (text.charCodeAt(0) === 0xfeff ? `\uFEFF${text}` : text) + (quoted ? newline : '');
  const res = Papa.parse<string[]>(input, papaConfig(delimiter, newline, !quoted));
  if (quoted) {
    const last = res.data[res.data.length - 1];
    if (last && last.length === 1 && last[0] === '') res.data.pop();
  }
  const quoteErr = res.errors.find((e) => e.type === 'Quotes');
  if (quoteErr) {
    const rowIdx = quoteErr.row ?? 0;
    const line = lines ? (lines[lineBase + rowIdx] ?? lines[lineBase]) : rowIdx + 1;
    const what = quoteErr.code === 'MissingQuotes' ? 'a quoted field is never closed' : 'a quoted field has text after its closing quote';
    fail('malformed-csv', `The file is not valid CSV near line ${line}: ${what}. Check for a stray double quote (") on that line.`);
  }
  if (res.data.length !== count) {
    const line = lines ? lines[lineBase] : 1;
    fail('malformed-csv', `The file could not be split into rows consistently near line ${line} (expected ${count} records, read ${res.data.length}).`);
  }
  return res.data;
}

/** Quote a field for CSV output when it contains the delimiter, a quote or a line break (or edge spaces). */
export function quoteField(field: string, delimiter: Delimiter): string {
  if (field.includes(delimiter) || field.includes('"') || field.includes('\n') || field.includes('\r') || (field.length > 0 && (field[0] === ' ' || field[field.length - 1] === ' '))) {
    return `"${field.replace(/"/g, '""')}"`;
  }
  return field;
}

/** Yield to the event loop so queued messages (cancel()) run; unclamped, unlike nested setTimeout(0). */
export function yieldToEventLoop(): Promise<void> {
  const g = globalThis as unknown as { setImmediate?: (cb: () => void) => void };
  if (typeof g.setImmediate === 'function') {
    const si = g.setImmediate;
    return new Promise((resolve) => si(resolve));
  }
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(null);
  });
}
