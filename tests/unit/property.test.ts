/** Property: for generated CSV text, load() never throws; when it succeeds, an unedited export keeps every cell. */
import fc from 'fast-check';
import Papa from 'papaparse';
import { beforeAll, expect, test } from 'vitest';
import type { EngineErrorCode } from '../../workers/api';
import type { Engine } from '../../workers/engine/engine';
import { isFormulaLike } from '../../workers/engine/validate';
import { fileFromText, readyEngine, THRESHOLD } from './helpers';

const KNOWN: EngineErrorCode[] = ['empty-file', 'not-text', 'utf16', 'no-rows', 'no-features', 'malformed-csv', 'too-large'];

const chars = fc.constantFrom('a', 'Z', '0', '7', '.', '-', '+', '=', '@', ' ', '"', ',', ';', '\t', '\n', '\r', 'é', '€', 'e', 'N', 'A');
const field = fc.oneof(
  fc.string({ unit: chars, maxLength: 8 }),
  fc.double({ noNaN: true }).map(String),
  fc.constantFrom('', 'NA', '-1.5', '=SUM(A1)', '@x', 'inf', '1,5'),
);

function serialize(rows: string[][], delim: string, eol: string, quoteAll: boolean): string {
  return rows
    .map((r) =>
      r
        .map((f) => (quoteAll || f.includes(delim) || f.includes('"') || f.includes('\n') || f.includes('\r') || f === '' ? (f === '' && !quoteAll ? '' : `"${f.replace(/"/g, '""')}"`) : f))
        .join(delim),
    )
    .join(eol);
}

let engine: Engine;
beforeAll(async () => {
  engine = await readyEngine({ sliceSize: 64 });
});

test('load() never throws; ok loads export every original cell (neutralized formulas aside)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 5 }),
      fc.array(fc.array(field, { minLength: 6, maxLength: 6 }), { minLength: 0, maxLength: 8 }),
      fc.constantFrom(',', ';', '\t'),
      fc.constantFrom('\n', '\r\n'),
      fc.boolean(),
      fc.boolean(),
      fc.boolean(),
      async (ncolRaw, rawRows, delim, eol, bom, trailing, quoteAll) => {
        const ncol = Math.max(2, ncolRaw);
        const header = ['', ...Array.from({ length: ncol - 1 }, (_, i) => `Sensor-${i + 1}`)];
        const rows = rawRows.map((r) => r.slice(0, ncol));
        const text = (bom ? '\uFEFF' : '') + serialize([header, ...rows], delim, eol, quoteAll) + (trailing ? eol : '');
        // A line of only delimiters (spaces, tabs) holds no wafer: not a row, and kept as it is in the download.
        const noWafer = rows.map((r) => delimiterOnly(serialize([r], delim, eol, quoteAll), delim));
        const wafers = noWafer.filter((x) => !x).length;
        let res;
        try {
          res = await engine.load(fileFromText(text), THRESHOLD);
        } catch (e) {
          throw new Error(`load threw: ${String(e)}`);
        }
        if (!res.ok) {
          expect(KNOWN).toContain(res.error.code);
          expect(wafers === 0 ? res.error.code : 'no-rows').toBe('no-rows');
          return;
        }
        expect(res.value.summary.rows).toBe(wafers);
        expect(res.value.summary.delimiterOnlyLines).toBe(rows.length - wafers);
        expect(res.value.summary.delimiter).toBe(delim);
        const predicted = res.value.results !== null;
        const out = unwrapExport(await engine.exportCsv({ threshold: 0.5, onlyFlagged: false }));
        const outText = new TextDecoder('utf-8', { ignoreBOM: true }).decode(await out.blob.arrayBuffer());
        expect(outText.startsWith('\uFEFF')).toBe(bom);
        const parsed = Papa.parse<string[]>(outText.replace(/^\uFEFF/, ''), { delimiter: delim, newline: eol as '\n' | '\r\n', skipEmptyLines: true }).data;
        expect(parsed).toHaveLength(rows.length + 1);
        [header, ...rows].forEach((orig, r) => {
          const got = parsed[r]!;
          expect(got).toHaveLength(r > 0 && noWafer[r - 1] ? ncol : ncol + 2);
          orig.forEach((cell, c) => {
            const o = got[c]!;
            if (o !== cell) expect([isFormulaLike(cell), o]).toEqual([true, `'${cell}`]);
          });
          if (r > 0 && !noWafer[r - 1]) expect(got[ncol + 1]).toMatch(predicted ? /^(Fault|OK)$/ : /^$/);
        });
      },
    ),
    { numRuns: Number(process.env.FC_RUNS ?? 80), ...(process.env.FC_RUNS ? {} : { seed: 20260126 }) },
  );
});

test('rows of any length: every original field kept, every result under its own header in the download', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 2, max: 5 }),
      fc.array(fc.array(field, { minLength: 0, maxLength: 8 }), { minLength: 1, maxLength: 8 }),
      fc.constantFrom(',', ';', '\t'),
      fc.boolean(),
      async (ncol, rawRows, delim, quoteAll) => {
        const header = ['Wafer', ...Array.from({ length: ncol - 1 }, (_, i) => `Sensor-${i + 1}`)];
        // A named wafer in the first field: rows of any width past it, shorter, as wide as or wider than the header.
        const rows = rawRows.map((r, i) => [`W${i + 1}`, ...r]);
        const text = serialize([header, ...rows], delim, '\n', quoteAll) + '\n';
        const loaded = await engine.load(fileFromText(text), THRESHOLD);
        if (!loaded.ok) throw new Error(`load failed: ${loaded.error.message}`);
        const widest = Math.max(ncol, ...rows.map((r) => r.length));
        const extra = Array.from({ length: widest - ncol }, (_, i) => `extra_${i + 1}`);
        expect(loaded.value.summary.extraColumns).toEqual(extra);
        const outText = await exportText(false);
        const parsed = Papa.parse<string[]>(outText, { delimiter: delim, newline: '\n', skipEmptyLines: true }).data;
        expect(parsed).toHaveLength(rows.length + 1);
        expect(parsed[0]).toEqual([...header, ...extra, 'fault_probability', 'prediction']);
        const at = { probability: widest, prediction: widest + 1 };
        const window = unwrapExport(await engine.window({ start: 0, count: rows.length, colStart: 0, colCount: 0, order: 'file' }));
        rows.forEach((orig, r) => {
          const got = parsed[r + 1]!;
          expect(got, `row ${r + 1} width`).toHaveLength(widest + 2);
          orig.forEach((cell, c) => {
            const o = got[c]!;
            if (o !== cell) expect([isFormulaLike(cell), o]).toEqual([true, `'${cell}`]);
          });
          for (let c = orig.length; c < widest; c++) expect(got[c]).toBe('');
          const p = window.rows[r]!.probability;
          expect(got[at.probability] === '' ? null : Math.fround(Number(got[at.probability]))).toBe(p);
          expect(got[at.prediction]).toBe(p === null ? '' : p >= 0.5 ? 'Fault' : 'OK');
        });
      },
    ),
    { numRuns: Number(process.env.FC_RUNS ?? 60), ...(process.env.FC_RUNS ? {} : { seed: 20261201 }) },
  );
});

async function exportText(onlyFlagged: boolean): Promise<string> {
  const out = unwrapExport(await engine.exportCsv({ threshold: 0.5, onlyFlagged }));
  return new TextDecoder().decode(await out.blob.arrayBuffer());
}

/** A line of delimiters, spaces and tabs only (at least one delimiter). */
function delimiterOnly(line: string, delim: string): boolean {
  return line.includes(delim) && [...line].every((ch) => ch === delim || ch === ' ' || ch === '\t');
}

function unwrapExport<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
  if (!r.ok) throw new Error(`export failed: ${r.error.code} ${r.error.message}`);
  return r.value;
}
