/** Sniffing and the byte-level, quote-aware record splitter. */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { isBlankRecord, parseBatchRecords, sniff, splitRecords, type SplitOptions } from '../../workers/engine/csv';
import { EngineFailure } from '../../workers/engine/errors';
import { path, SAMPLE } from './helpers';

const enc = new TextEncoder();
const bytesOf = (s: string) => enc.encode(s);
function sniffText(s: string | Uint8Array) {
  const b = typeof s === 'string' ? bytesOf(s) : s;
  return sniff(b, b.length);
}
function sniffError(b: Uint8Array): string {
  try {
    sniff(b, b.length);
  } catch (e) {
    if (e instanceof EngineFailure) return e.code;
    throw e;
  }
  return 'ok';
}

interface Rec {
  start: number;
  contentEnd: number;
  end: number;
  line: number;
  fields: string[];
}
/** Split a text with the real splitter; records with absolute offsets and Papa's fields. */
async function split(text: string | Uint8Array, sliceSize: number, opts: Partial<SplitOptions> = {}): Promise<Rec[]> {
  const bytes = typeof text === 'string' ? bytesOf(text) : text;
  const sn = sniff(bytes, bytes.length);
  const out: Rec[] = [];
  for await (const b of splitRecords(new Blob([bytes as BlobPart]), { delimiter: sn.delimiter, lineEnding: sn.lineEnding, start: sn.dataStart, sliceSize, ...opts })) {
    const fields = parseBatchRecords(b, 0, b.starts.length, sn.delimiter, sn.lineEnding);
    b.starts.forEach((s, i) => {
      out.push({ start: b.offset + s, contentEnd: b.offset + (b.contentEnds[i] as number), end: b.offset + (b.ends[i] as number), line: b.lines[i] as number, fields: fields[i] as string[] });
    });
  }
  return out;
}

describe('sniff', () => {
  test.each([
    ['a,b,c\n1,2,3\n', ','],
    ['a;b;c\n1,5;2,5;3\n', ';'],
    ['a\tb\tc\n1\t2\t3\n', '\t'],
    ['"x;y;z",b,c\n', ','], // delimiters inside quotes do not count
    ['id,"a;b;c ""x""",v\n1,2,3\n', ','], // nor inside a quoted field with "" in it
    ['x;"p,q,r ""s"" t";y\n1;2;3\n', ';'],
    ['x,"a;b;c;d"\n1,2\n', ','], // a quote opens a field after any candidate delimiter
    ['"a" ;b;c\n1;2;3\n', ';'], // spaces between a closing quote and the delimiter
    ['pipe 5";b;c\n1;2;3\n', ';'], // a quote inside a field is literal (as the splitter reads it)
    ['single\n1\n', ','],
  ])('delimiter of %j is %j', (text, delim) => {
    expect(sniffText(text).delimiter).toBe(delim);
  });

  test.each([
    ['a,b\r\n1,2\r\n', '\r\n'],
    ['a,b\n1,2\n', '\n'],
    ['a,b\r1,2\r', '\r'],
    ['a,b', '\n'],
    ['"h\r\nx",b\n1,2\n', '\n'], // a line break inside a quoted header field is not the line ending
    ['in 5",b\r\n1,2\r\n', '\r\n'], // a quote inside a field is literal and opens nothing
  ])('line ending of %j', (text, le) => {
    expect(sniffText(text).lineEnding).toBe(le);
  });

  test('UTF-8 BOM is noted and skipped', () => {
    const s = sniffText(new Uint8Array([0xef, 0xbb, 0xbf, ...bytesOf('a;b\n1;2\n')]));
    expect(s).toEqual({ delimiter: ';', lineEnding: '\n', hasBom: true, dataStart: 3, separatorLine: null, firstLine: 1 });
    expect(sniffText('a,b\n').hasBom).toBe(false);
  });

  test('encodings and emptiness', () => {
    expect(sniffError(new Uint8Array(0))).toBe('empty-file');
    expect(sniffError(bytesOf(' \n\r\n\t\n'))).toBe('empty-file');
    expect(sniffError(new Uint8Array([0xef, 0xbb, 0xbf, 0x0a]))).toBe('empty-file');
    expect(sniffError(new Uint8Array([0xff, 0xfe, 0x61, 0x00]))).toBe('utf16');
    expect(sniffError(new Uint8Array([0xfe, 0xff, 0x00, 0x61]))).toBe('utf16');
    const le = new Uint8Array(Buffer.from('a,b,c\n1,2,3\n4,5,6\n', 'utf16le'));
    expect(sniffError(le)).toBe('utf16'); // no BOM: NULs in alternating positions
    expect(sniffError(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x08, 0x00, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46]))).toBe('not-text');
    expect(sniffError(new Uint8Array([0x61, 0x2c, 0xc3, 0x28, 0x0a]))).toBe('not-text'); // invalid UTF-8
    expect(sniffError(bytesOf('Temp °C,Δ\n1,2\n'))).toBe('ok');
    expect(sniffError(new Uint8Array(readFileSync(path('tests/fixtures/bad/utf16.csv'))))).toBe('utf16');
    expect(sniffError(new Uint8Array(readFileSync(path('tests/fixtures/bad/binary.csv'))))).toBe('not-text');
  });

  test('a head cut in the middle of a multi-byte character is still valid', () => {
    const full = bytesOf('name,Δ€\n1,2\n');
    const cut = full.subarray(0, 7); // inside "€"
    expect(sniff(cut, full.length).delimiter).toBe(',');
  });
});

describe('splitRecords', () => {
  const tricky = 'id,note,v\r\n1,"multi\r\nline, with comma",2\r\n\r\n2,"say ""hi""",3\r\n3,plain,4';

  test('quoted newline, escaped quotes, blank line, no trailing newline (CRLF)', async () => {
    const recs = await split(tricky, 1 << 20);
    expect(recs.map((r) => r.fields)).toEqual([['id', 'note', 'v'], ['1', 'multi\r\nline, with comma', '2'], [''], ['2', 'say "hi"', '3'], ['3', 'plain', '4']]);
    expect(recs.map((r) => r.line)).toEqual([1, 2, 4, 5, 6]);
    const b = bytesOf(tricky);
    expect(isBlankRecord(b, recs[2]!.start, recs[2]!.contentEnd)).toBe(true);
    // Spans tile the input exactly; each content ends right before its own line ending.
    expect(recs[0]!.start).toBe(0);
    for (let i = 1; i < recs.length; i++) expect(recs[i]!.start).toBe(recs[i - 1]!.end);
    expect(recs.at(-1)!.end).toBe(b.length);
    expect(new TextDecoder().decode(b.subarray(recs[1]!.contentEnd, recs[1]!.end))).toBe('\r\n');
  });

  test.each([1, 2, 3, 7, 64])('records split across slice boundaries (slice %i bytes) give identical results', async (slice) => {
    expect(await split(tricky, slice)).toEqual(await split(tricky, 1 << 20));
  });

  test('a CR LF pair straddling a slice boundary is one line ending', async () => {
    const text = 'a,b\r\n1,2\r\n3,4\r\n';
    for (let s = 1; s <= 6; s++) {
      const recs = await split(text, s);
      expect(recs.map((r) => r.fields)).toEqual([['a', 'b'], ['1', '2'], ['3', '4']]);
      expect(recs.map((r) => r.end - r.contentEnd)).toEqual([2, 2, 2]);
    }
  });

  test('lone CR files and mixed line endings', async () => {
    expect((await split('a,b\r1,2\r3,4', 3)).map((r) => r.fields)).toEqual([['a', 'b'], ['1', '2'], ['3', '4']]);
    const mixed = await split('a,b\n1,2\r\n3,4\r5,6\n', 4);
    expect(mixed.map((r) => r.fields)).toEqual([['a', 'b'], ['1', '2'], ['3', '4'], ['5', '6']]);
    expect(mixed.map((r) => r.end - r.contentEnd)).toEqual([1, 2, 1, 1]);
  });

  test('quotes only open a field at its start (5" stays literal), like PapaParse', async () => {
    const recs = await split('a,b\n5",x\n"q",y\n', 5);
    expect(recs.map((r) => r.fields)).toEqual([['a', 'b'], ['5"', 'x'], ['q', 'y']]);
  });

  test('the 100-wafer sample splits the same with 7-byte and 1 MB slices', async () => {
    const bytes = new Uint8Array(readFileSync(path(SAMPLE)));
    const big = await split(bytes, 1 << 20);
    const small = await split(bytes, 7);
    expect(big).toHaveLength(101);
    expect(small).toEqual(big);
    expect(big[0]!.fields).toHaveLength(592);
    expect(big[1]!.fields[0]).toBe('Wafer-801');
  });

  test('an unclosed quote is a malformed-csv error naming the line', async () => {
    await expect(split('a,b\n1,2\n3,"oops\n4,5\n', 1 << 20)).rejects.toMatchObject({ code: 'malformed-csv', message: expect.stringContaining('line 3') });
  });
});
