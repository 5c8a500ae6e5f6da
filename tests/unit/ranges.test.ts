/**
 * The range path (ranges.ts): byte ranges that parse workers split on their own must give exactly the records
 * of the sequential splitter, for any range size and any mix of line endings, and give up on quotes.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { nextRecordStart, splitQuoteFree, splitRecords, type LineEnding } from '../../workers/engine/csv';
import { rangeToRows, type RangeResult } from '../../workers/engine/ranges';
import type { RowsConfig } from '../../workers/engine/rows';

const cfg: RowsConfig = {
  delimiter: ',',
  lineEnding: '\n',
  decimalComma: false,
  nFeatures: 2,
  ncol: 3,
  featureOfColumn: [-1, 0, 1],
  labelColumn: null,
  idColumn: 0,
  failValues: ['1'],
  passValues: ['-1'],
};

type Span = [start: number, contentEnd: number, end: number];

/** The sequential splitter's records (7-byte slices, so its own slice joins are exercised too). */
async function sequential(bytes: Uint8Array, lineEnding: LineEnding): Promise<Span[]> {
  const out: Span[] = [];
  for await (const b of splitRecords(new Blob([bytes as BlobPart]), { delimiter: ',', lineEnding, start: 0, sliceSize: 7 })) {
    for (let r = 0; r < b.starts.length; r++) out.push([b.offset + (b.starts[r] as number), b.offset + (b.contentEnds[r] as number), b.offset + (b.ends[r] as number)]);
  }
  return out;
}

/** Every range of the file in turn, as the engine hands them out; null when one gives up. */
async function byRanges(bytes: Uint8Array, rangeSize: number, overhang: number, lineEnding: LineEnding): Promise<{ spans: Span[]; rows: number } | null> {
  const file = new Blob([bytes as BlobPart]);
  const spans: Span[] = [];
  let rows = 0;
  for (let start = 0; start < bytes.length; start += rangeSize) {
    const r: RangeResult = await rangeToRows({ file, start, end: Math.min(bytes.length, start + rangeSize), atRecordStart: start === 0, overhang }, { ...cfg, lineEnding });
    if (!r.usable) return null;
    for (let i = 0; i < r.starts.length; i++) spans.push([r.offset + (r.starts[i] as number), r.offset + (r.contentEnds[i] as number), r.offset + (r.ends[i] as number)]);
    rows += r.chunk?.rows ?? 0;
  }
  return { spans, rows };
}

const cell = fc.constantFrom('1.5', '', '-2e-3', 'abc', 'é€', ' ', '12345678901');
const record = fc.record({ cells: fc.array(cell, { maxLength: 4 }), term: fc.constantFrom('\n', '\r\n', '\r') });
const quoteFreeFile = fc.record({
  records: fc.array(record, { maxLength: 25 }),
  lastTerminated: fc.boolean(),
});

function encode(f: { records: { cells: string[]; term: string }[]; lastTerminated: boolean }): Uint8Array {
  let text = '';
  f.records.forEach((r, i) => {
    text += r.cells.join(',');
    if (i < f.records.length - 1 || f.lastTerminated) text += r.term;
  });
  return new TextEncoder().encode(text);
}

describe('ranges split like the sequential splitter', () => {
  test('property: any quote-free file, any range size and overhang, LF / CR LF / CR endings', async () => {
    await fc.assert(
      fc.asyncProperty(quoteFreeFile, fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 9 }), fc.constantFrom<LineEnding>('\n', '\r\n'), async (f, rangeSize, overhang, lineEnding) => {
        const bytes = encode(f);
        const got = await byRanges(bytes, rangeSize, overhang, lineEnding);
        expect(got).not.toBeNull();
        expect(got?.spans).toEqual(await sequential(bytes, lineEnding));
      }),
      { numRuns: 300, seed: 20261126 },
    );
  });

  test('a quote anywhere a range reads makes it give up', async () => {
    const bytes = new TextEncoder().encode('a,1,2\nb,"3",4\nc,5,6\n');
    const file = new Blob([bytes as BlobPart]);
    expect(await rangeToRows({ file, start: 0, end: 6, atRecordStart: true, overhang: 0 }, cfg)).toMatchObject({ usable: true });
    expect(await rangeToRows({ file, start: 6, end: 14, atRecordStart: false }, cfg)).toEqual({ usable: false, reason: 'a quote character' });
    // With the default overhang the first range reads on past its end, meets the quote, and gives up as well:
    // any quote read sends the load to the sequential path.
    expect(await rangeToRows({ file, start: 0, end: 6, atRecordStart: true }, cfg)).toMatchObject({ usable: false });
  });

  test('invalid UTF-8 in a range: it gives up (the sequential path reports it with its line)', async () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('a,1,2\nb,'), 0xff, ...new TextEncoder().encode(',4\n')]);
    expect(await rangeToRows({ file: new Blob([bytes]), start: 0, end: bytes.length, atRecordStart: true }, cfg)).toMatchObject({ usable: false });
  });

  test('converted rows: ids, readings and blank records', async () => {
    const text = 'w1,1.5,2\n\nw2,,abc\r\nw3,3,4';
    const r = await rangeToRows({ file: new Blob([text]), start: 0, end: text.length, atRecordStart: true }, cfg);
    expect(r.usable).toBe(true);
    if (!r.usable || !r.chunk) throw new Error('no rows');
    expect(r.starts).toHaveLength(4);
    expect(r.chunk.rows).toBe(3);
    expect(Array.from(r.chunk.records)).toEqual([0, 2, 3]);
    expect(r.chunk.ids).toEqual(['w1', 'w2', 'w3']);
    expect(Array.from(r.chunk.matrix)).toEqual([1.5, 2, NaN, NaN, 3, 4]);
    expect(r.chunk.cellIssues).toEqual([{ row: 1, col: 2, raw: 'abc' }]);
  });
});

describe('the byte helpers', () => {
  const b = (s: string) => new TextEncoder().encode(s);
  test('nextRecordStart: after LF, CR LF and lone CR; none before the limit', () => {
    expect(nextRecordStart(b('ab\ncd'), 1, 5)).toBe(3);
    expect(nextRecordStart(b('ab\ncd'), 3, 5)).toBe(3);
    expect(nextRecordStart(b('ab\r\ncd'), 3, 6)).toBe(4);
    expect(nextRecordStart(b('ab\rcd'), 1, 5)).toBe(3);
    expect(nextRecordStart(b('abcd\n'), 1, 5)).toBe(5);
  });
  test('splitQuoteFree: needs more bytes for an unfinished last record, not at the end of the file', () => {
    expect(splitQuoteFree(b('a\nbc'), 0, 3, false, '\n')).toBeNull();
    expect(splitQuoteFree(b('a\nbc'), 0, 3, true, '\n')).toEqual({ starts: [0, 2], contentEnds: [1, 4], ends: [2, 4], mixed: false });
    // A CR as the last byte read: CR LF or lone CR cannot be told yet.
    expect(splitQuoteFree(b('a\r'), 0, 1, false, '\r\n')).toBeNull();
    expect(splitQuoteFree(b('a\r'), 0, 1, true, '\r\n')).toEqual({ starts: [0], contentEnds: [1], ends: [2], mixed: true });
  });
});
