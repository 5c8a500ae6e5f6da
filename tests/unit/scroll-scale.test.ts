/**
 * The scroll mapping (scroll-scale.ts): the identity below the spacer cap; past it, a monotone stretch of
 * scrollTop over the whole table that reaches the first and the last row and round-trips.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { MAX_SPACER_PX, isScaled, rowTopInSpacer, scrollScale, scrollTopFor, scrollTopToReveal, virtualTop } from '../../src/lib/scroll-scale';

const ROW_H = 28;
const VIEW = 446; // a 480 px scroller less its 34 px header

describe('below the cap', () => {
  const rows = 100_000;
  const scale = scrollScale(rows * ROW_H, VIEW);

  test('the spacer is the natural height and nothing is scaled', () => {
    expect(scale.spacerHeight).toBe(rows * ROW_H);
    expect(isScaled(scale)).toBe(false);
  });

  test('scrollTop and row positions are exactly those of an uncapped spacer', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: rows * ROW_H - VIEW }), fc.integer({ min: 0, max: rows - 1 }), (top, row) => {
        expect(virtualTop(scale, top)).toBe(top);
        expect(scrollTopFor(scale, top)).toBe(top);
        expect(rowTopInSpacer(scale, top, row, ROW_H)).toBe(row * ROW_H);
      }),
    );
  });

  test('revealing a row scrolls as a plain scroller would', () => {
    expect(scrollTopToReveal(scale, 0, 10 * ROW_H, ROW_H)).toBeNull();
    expect(scrollTopToReveal(scale, 1000, 10 * ROW_H, ROW_H)).toBe(10 * ROW_H);
    expect(scrollTopToReveal(scale, 0, 500 * ROW_H, ROW_H)).toBe(501 * ROW_H - VIEW);
  });

  test('exactly at the cap it is still the identity', () => {
    const atCap = scrollScale(MAX_SPACER_PX, VIEW);
    expect(isScaled(atCap)).toBe(false);
    expect(atCap.spacerHeight).toBe(MAX_SPACER_PX);
  });
});

describe('past the cap', () => {
  const rows = 1_500_000;
  const scale = scrollScale(rows * ROW_H, VIEW);
  const maxScroll = scale.spacerHeight - VIEW;

  test('the spacer is capped', () => {
    expect(scale.spacerHeight).toBe(MAX_SPACER_PX);
    expect(isScaled(scale)).toBe(true);
  });

  test('the top shows the first row and the bottom the last, its bottom edge at the viewport bottom', () => {
    expect(virtualTop(scale, 0)).toBe(0);
    const bottom = virtualTop(scale, maxScroll);
    expect(bottom).toBeCloseTo(rows * ROW_H - VIEW, 6);
    expect(Math.floor((bottom + VIEW - 1) / ROW_H)).toBe(rows - 1);
    const lastTop = rowTopInSpacer(scale, maxScroll, rows - 1, ROW_H);
    expect(lastTop + ROW_H).toBeCloseTo(scale.spacerHeight, 6);
  });

  test('scrollTop beyond the range stays at the ends', () => {
    expect(virtualTop(scale, -5)).toBe(0);
    expect(virtualTop(scale, maxScroll + 1000)).toBe(rows * ROW_H - VIEW);
    expect(scrollTopFor(scale, rows * ROW_H * 2)).toBe(maxScroll);
  });

  test('the mapping is monotone', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: maxScroll, noNaN: true }), fc.double({ min: 0, max: maxScroll, noNaN: true }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(virtualTop(scale, lo)).toBeLessThanOrEqual(virtualTop(scale, hi));
      }),
    );
  });

  test('scrollTop → virtual → scrollTop round-trips', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: maxScroll, noNaN: true }), (top) => {
        expect(scrollTopFor(scale, virtualTop(scale, top))).toBeCloseTo(top, 6);
      }),
    );
  });

  test('rows drawn for a scrollTop are where the viewport shows them', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: maxScroll }), fc.integer({ min: 0, max: 20 }), (top, offset) => {
        const firstVisible = Math.floor(virtualTop(scale, top) / ROW_H);
        const row = Math.min(rows - 1, firstVisible + offset);
        const inViewport = rowTopInSpacer(scale, top, row, ROW_H) - top;
        expect(inViewport).toBeCloseTo(row * ROW_H - virtualTop(scale, top), 6);
        expect(inViewport).toBeGreaterThan(-ROW_H);
      }),
    );
  });

  test('every row can be revealed fully, in whole pixels, from anywhere', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: maxScroll }), fc.integer({ min: 0, max: rows - 1 }), (from, row) => {
        const to = scrollTopToReveal(scale, from, row * ROW_H, ROW_H) ?? from;
        expect(Number.isInteger(to)).toBe(true);
        const shown = virtualTop(scale, Math.min(maxScroll, to));
        expect(row * ROW_H).toBeGreaterThanOrEqual(shown - 1e-6);
        expect((row + 1) * ROW_H).toBeLessThanOrEqual(shown + VIEW + 1e-6);
      }),
    );
  });

  test('the first and the last row can be revealed', () => {
    expect(scrollTopToReveal(scale, 123_456, 0, ROW_H)).toBe(0);
    const toLast = scrollTopToReveal(scale, 0, (rows - 1) * ROW_H, ROW_H);
    expect(toLast).not.toBeNull();
    expect(Math.min(maxScroll, toLast ?? 0)).toBe(maxScroll);
  });
});
