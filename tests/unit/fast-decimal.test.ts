/** The hand-written decimal fast path in classifyCell must give exactly what Number() gives (bench: 59M cells). */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { CellKind, classifyCell, newCellOut, type CellOut } from '../../workers/engine/validate';

const out: CellOut = newCellOut();

describe('classifyCell decimal fast path', () => {
  test.each(['0', '-0', '+0', '007', '5.', '.5', '-.5', '+.25', '0.1', '0.3', '123456789012345', '1234567890123456', '9007199254740993', '0.000000000000001', '2855.909', '-0.0279', '1.7976931348623157', '3.4028234663852886'])('%s', (raw) => {
    expect(classifyCell(raw, false, out)).toBe(CellKind.Number);
    expect(Object.is(out.value, Number(raw))).toBe(true);
  });

  test('falls back for forms it does not take', () => {
    for (const raw of ['-', '.', '+', '1.2.3', '0x1F', '1e3', '1 ', '1,5']) {
      const k = classifyCell(raw, false, out);
      if (raw === '1e3' || raw === '1 ') expect(out.value).toBe(Number(raw.trim()));
      else expect(k).not.toBe(CellKind.Number);
    }
  });

  test('bit-identical to Number() on random decimals', () => {
    const decimal = fc
      .tuple(fc.constantFrom('', '-', '+'), fc.string({ unit: fc.constantFrom('0', '1', '2', '5', '7', '9'), minLength: 0, maxLength: 12 }), fc.boolean(), fc.string({ unit: fc.constantFrom('0', '3', '4', '6', '8', '9'), minLength: 0, maxLength: 12 }))
      .map(([s, a, dot, b]) => `${s}${a}${dot ? '.' : ''}${dot ? b : ''}`)
      .filter((t) => /\d/.test(t));
    fc.assert(
      fc.property(decimal, (raw) => {
        expect(classifyCell(raw, false, out)).toBe(CellKind.Number);
        expect(Object.is(out.value, Number(raw))).toBe(true);
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }), (x) => {
        const raw = x.toPrecision(7);
        if (classifyCell(raw, false, out) === CellKind.Number) expect(Object.is(out.value, Number(raw))).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });
});
