/**
 * The shared quote state machine (quote-scan.ts): its transitions, and that the record splitter and the export's
 * field spans, which both step through it, agree with PapaParse on generated records.
 */
import fc from 'fast-check';
import Papa from 'papaparse';
import { describe, expect, test } from 'vitest';
import { splitRecords, type Delimiter, type LineEnding } from '../../workers/engine/csv';
import { rawFieldSpans } from '../../workers/engine/export';
import {
  FIELD_START,
  nextDelimiterOrLineBreak,
  nextQuoteOrLineBreak,
  QUOTE_IN_QUOTED,
  QUOTED,
  SPACE_AFTER_QUOTE,
  stepQuoteState,
  UNQUOTED,
  type QuoteState,
} from '../../workers/engine/quote-scan';

/** The state after each character of `text`. */
function states(text: string, delimiter: Delimiter): QuoteState[] {
  const out: QuoteState[] = [];
  let state: QuoteState = FIELD_START;
  for (let i = 0; i < text.length; i++) out.push((state = stepQuoteState(state, text.charCodeAt(i), delimiter.charCodeAt(0))));
  return out;
}

describe('stepQuoteState', () => {
  test('a quote opens a quoted field only at the start of a field', () => {
    expect(states('"a', ',')).toEqual([QUOTED, QUOTED]);
    expect(states('5"x', ',')).toEqual([UNQUOTED, UNQUOTED, UNQUOTED]);
    expect(states(',"', ',')).toEqual([FIELD_START, QUOTED]);
    expect(states(' "', ',')).toEqual([UNQUOTED, UNQUOTED]);
  });

  test('"" inside a quoted field is a literal quote; a quote then the delimiter closes it', () => {
    expect(states('"a""b",', ',')).toEqual([QUOTED, QUOTED, QUOTE_IN_QUOTED, QUOTED, QUOTED, QUOTE_IN_QUOTED, FIELD_START]);
    expect(states('"a,b",', ',')).toEqual([QUOTED, QUOTED, QUOTED, QUOTED, QUOTE_IN_QUOTED, FIELD_START]);
  });

  test('spaces or tabs may follow the closing quote; any other character returns into the field', () => {
    expect(states('"a" \t;', ';')).toEqual([QUOTED, QUOTED, QUOTE_IN_QUOTED, SPACE_AFTER_QUOTE, SPACE_AFTER_QUOTE, FIELD_START]);
    expect(states('"a"\t;', ';')).toEqual([QUOTED, QUOTED, QUOTE_IN_QUOTED, SPACE_AFTER_QUOTE, FIELD_START]);
    expect(states('"a" x', ';')).toEqual([QUOTED, QUOTED, QUOTE_IN_QUOTED, SPACE_AFTER_QUOTE, QUOTED]);
    expect(states('"a"x', ';')).toEqual([QUOTED, QUOTED, QUOTE_IN_QUOTED, QUOTED]);
  });

  test('with TAB as the delimiter, a tab after the closing quote ends the field', () => {
    expect(states('"a"\t', '\t')).toEqual([QUOTED, QUOTED, QUOTE_IN_QUOTED, FIELD_START]);
  });

  test('FIELD_START is reached exactly at the delimiters outside quoted fields', () => {
    const text = 'a,"b,c",,"d""e" ,f"g,h';
    const at = states(text, ',').flatMap((s, i) => (s === FIELD_START ? [i] : []));
    expect(at).toEqual([1, 7, 8, 16, 20]);
  });
});

describe('skipping the bytes that cannot change the state', () => {
  const bytes = new TextEncoder().encode('ab,c"d\re\nf');
  test('inside a quoted field, to the next quote or line break', () => {
    expect(nextQuoteOrLineBreak(bytes, 0, bytes.length)).toBe(4);
    expect(nextQuoteOrLineBreak(bytes, 5, bytes.length)).toBe(6);
    expect(nextQuoteOrLineBreak(bytes, 7, bytes.length)).toBe(8);
    expect(nextQuoteOrLineBreak(bytes, 9, bytes.length)).toBe(bytes.length);
    expect(nextQuoteOrLineBreak(bytes, 0, 3)).toBe(3);
  });
  test('inside an unquoted field, to the next delimiter or line break', () => {
    expect(nextDelimiterOrLineBreak(bytes, 0, bytes.length, 0x2c)).toBe(2);
    expect(nextDelimiterOrLineBreak(bytes, 3, bytes.length, 0x2c)).toBe(6);
    expect(nextDelimiterOrLineBreak(bytes, 0, bytes.length, 0x3b)).toBe(6);
    expect(nextDelimiterOrLineBreak(bytes, 9, bytes.length, 0x2c)).toBe(bytes.length);
  });
});

describe('the splitter and rawFieldSpans agree with PapaParse', () => {
  const value = fc.string({ unit: fc.constantFrom('a', '7', ' ', '"', ',', ';', '\t', '\n', '\r', 'é'), maxLength: 6 });
  const field = fc.record({ value, quoteAnyway: fc.boolean(), pad: fc.constantFrom('', '', ' ', '  ', ' \t', '\t') });
  const records = fc.array(fc.array(field, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 });

  /** The raw text of a field: quoted when it must be (or at random), then maybe spaces after the closing quote. */
  function encode(f: { value: string; quoteAnyway: boolean; pad: string }, delimiter: Delimiter): string {
    const v = f.value;
    const mustQuote = v.includes(delimiter) || v.includes('\n') || v.includes('\r') || v.startsWith('"');
    if (!mustQuote && !f.quoteAnyway) return v;
    const pad = delimiter === '\t' ? f.pad.replaceAll('\t', ' ') : f.pad;
    return `"${v.replaceAll('"', '""')}"${pad}`;
  }

  /** Each record's content and the physical line it starts on, from the real splitter. */
  async function split(text: string, delimiter: Delimiter, lineEnding: LineEnding, sliceSize: number) {
    const bytes = new TextEncoder().encode(text);
    const out: { content: string; line: number }[] = [];
    for await (const b of splitRecords(new Blob([bytes]), { delimiter, lineEnding, start: 0, sliceSize })) {
      b.starts.forEach((s, r) => out.push({ content: new TextDecoder().decode(b.bytes.subarray(s, b.contentEnds[r])), line: b.lines[r] as number }));
    }
    return out;
  }

  /** Line breaks in a text: CR LF, LF and lone CR count one each. */
  const lineBreaks = (text: string) => text.match(/\r\n|\r|\n/g)?.length ?? 0;

  test('on generated records (every field kind, quote placement and line ending)', async () => {
    await fc.assert(
      fc.asyncProperty(records, fc.constantFrom<Delimiter>(',', ';', '\t'), fc.constantFrom<LineEnding>('\n', '\r\n', '\r'), async (recs, delimiter, eol) => {
        const raw = recs.map((fields) => fields.map((f) => encode(f, delimiter)));
        const lines = raw.map((fields) => fields.join(delimiter));
        const text = lines.map((l) => l + eol).join('');
        // The generator's raw text means what it should, to PapaParse.
        const papa = Papa.parse<string[]>(text, { delimiter, newline: eol, quoteChar: '"', escapeChar: '"', header: false, skipEmptyLines: false });
        expect(papa.errors).toEqual([]);
        expect(papa.data.slice(0, -1)).toEqual(recs.map((fields) => fields.map((f) => f.value)));
        let line = 1;
        const expected = lines.map((content) => {
          const rec = { content, line };
          line += lineBreaks(content + eol);
          return rec;
        });
        for (const sliceSize of [1, 3, 64, 1 << 20]) expect(await split(text, delimiter, eol, sliceSize)).toEqual(expected);
        lines.forEach((line, r) => {
          const spans = rawFieldSpans(line, delimiter);
          const fieldTexts = Array.from({ length: spans.length / 2 }, (_, k) => line.slice(spans[2 * k], spans[2 * k + 1]));
          expect(fieldTexts).toEqual(raw[r]);
        });
      }),
      { seed: 20261201, numRuns: 400 },
    );
  });
});
