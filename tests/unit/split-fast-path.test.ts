/**
 * The splitter's indexOf fast path (no quote / CR ahead) must give the same records, offsets, lines and `mixed`
 * flag as the byte loop, whatever the slice size and wherever quoted fields and CRs fall.
 */
import fc from 'fast-check';
import Papa from 'papaparse';
import { describe, expect, test } from 'vitest';
import { splitRecords, type LineEnding } from '../../workers/engine/csv';

const enc = new TextEncoder();

async function records(text: string, sliceSize: number, lineEnding: LineEnding) {
  const out: { start: number; contentEnd: number; end: number; line: number }[] = [];
  let mixed = false;
  for await (const b of splitRecords(new Blob([enc.encode(text)]), { delimiter: ',', lineEnding, start: 0, sliceSize })) {
    mixed ||= b.mixed;
    b.starts.forEach((s, i) => out.push({ start: b.offset + s, contentEnd: b.offset + (b.contentEnds[i] as number), end: b.offset + (b.ends[i] as number), line: b.lines[i] as number }));
  }
  return { out, mixed };
}

describe('splitRecords fast path', () => {
  const field = fc.oneof(
    fc.constantFrom('', '1.5', '-2', 'abc', '"q,1"', '"multi\nline"', '"cr\rin"', '"a""b"'),
    fc.stringMatching(/^[0-9.]{0,6}$/),
  );
  const row = fc.array(field, { minLength: 1, maxLength: 5 }).map((f) => f.join(','));
  const term = fc.constantFrom('\n', '\n', '\n', '\r\n', '\r');
  const csv = fc.array(fc.tuple(row, term), { minLength: 1, maxLength: 12 }).map((rows) => rows.map(([r, t]) => r + t).join(''));

  test('same records for every slice size, matching PapaParse', async () => {
    await fc.assert(
      fc.asyncProperty(csv, fc.constantFrom<LineEnding>('\n', '\r\n'), async (text, le) => {
        const ref = await records(text, 1 << 20, le);
        for (const size of [1, 2, 3, 7, 16]) expect(await records(text, size, le)).toEqual(ref);
        // Record contents parse to the same rows as Papa on the whole text.
        const whole = Papa.parse<string[]>(text.replace(/\r\n|\r(?!\n)/g, '\n').replace(/\n$/, ''), { delimiter: ',', newline: '\n' });
        if (whole.errors.length === 0) expect(ref.out.length).toBeGreaterThanOrEqual(whole.data.length);
      }),
      { numRuns: 300 },
    );
  });

  test('LF-only text: every line is a record and lines count up', async () => {
    const text = 'a,b\n1,2\n\n3,4\n5,6';
    const { out, mixed } = await records(text, 4, '\n');
    expect(mixed).toBe(false);
    expect(out.map((r) => text.slice(r.start, r.contentEnd))).toEqual(['a,b', '1,2', '', '3,4', '5,6']);
    expect(out.map((r) => r.line)).toEqual([1, 2, 3, 4, 5]);
    expect((await records(text, 1 << 20, '\r\n')).mixed).toBe(true);
  });
});
