/** The wafer panel's view model (src/lib/explain-view.ts): percentiles, training-range places, the two directions. */
import { describe, expect, test } from 'vitest';
import type { WaferExplanation } from '../../workers/api';
import { explanationView, MISSING_MATTERS, percentileOf, rangePlace, readingText, SHOWN_PER_DIRECTION } from '../../src/lib/explain-view';

const q = Array.from({ length: 101 }, (_, i) => i * 2); // quantile i at 2·i: 0 … 200

describe('percentileOf', () => {
  test('linear between quantiles, clamped outside them', () => {
    expect(percentileOf(50, q)).toBe(25);
    expect(percentileOf(51, q)).toBeCloseTo(25.5, 10);
    expect(percentileOf(-1, q)).toBe(0);
    expect(percentileOf(201, q)).toBe(100);
    expect(percentileOf(0, q)).toBe(0);
    expect(percentileOf(200, q)).toBe(100);
  });

  test('a value on a run of tied quantiles sits in the middle of the run', () => {
    const tied = Array.from({ length: 101 }, (_, i) => (i < 60 ? 0 : i));
    expect(percentileOf(0, tied)).toBeCloseTo(29.5, 10);
  });
});

test('rangePlace against p01–p99, unknown without statistics', () => {
  const stats = { missing_rate: 0, min: 0, max: 10, p01: 1, p99: 9 };
  expect(rangePlace(0.5, stats)).toBe('below');
  expect(rangePlace(5, stats)).toBe('inside');
  expect(rangePlace(9.5, stats)).toBe('above');
  expect(rangePlace(5, { ...stats, p01: null, p99: null })).toBeNull();
  expect(rangePlace(5, undefined)).toBeNull();
});

test('readingText keeps six significant digits', () => {
  expect(readingText(13.978199958801)).toBe('13.9782');
  expect(readingText(3072)).toBe('3072');
});

describe('explanationView', () => {
  const sensors = { A: { missing_rate: 0.25, min: 0, max: 200, p01: 2, p99: 198 }, B: { missing_rate: 0, min: 0, max: 10, p01: 1, p99: 9 } };
  const explanation: WaferExplanation = {
    row: 4,
    name: 'W5',
    probability: 0.4,
    margin: Math.log(0.4 / 0.6),
    base: -1,
    missingModelReadings: 1,
    contributions: [
      { sensor: 'A', feature: 0, value: null, contribution: 0.5 },
      { sensor: 'B', feature: 1, value: 20, contribution: -0.3 },
      ...Array.from({ length: 12 }, (_, i) => ({ sensor: `S${i}`, feature: 2 + i, value: 1, contribution: 0.01 * (12 - i) })),
      { sensor: 'Missing readings (count)', feature: -1, value: 3, contribution: -MISSING_MATTERS },
    ],
  };

  test('both directions, largest first, at most SHOWN_PER_DIRECTION each; the rest summed', () => {
    const v = explanationView(explanation, 0.3, sensors, null);
    expect(v.flagged).toBe(true);
    expect(v.towardFault).toHaveLength(SHOWN_PER_DIRECTION);
    expect(v.towardFault[0]?.sensor).toBe('A');
    expect(v.towardPass.map((c) => c.sensor)).toEqual(['B', 'Missing readings (count)']);
    const shown = [...v.towardFault, ...v.towardPass].reduce((s, c) => s + c.contribution, 0);
    const all = explanation.contributions.reduce((s, c) => s + c.contribution, 0);
    expect(v.restSum).toBeCloseTo(all - shown, 12);
  });

  test('readings placed: missing (with the training missing rate), outside p01–p99, percentile with quantiles', () => {
    const without = explanationView(explanation, 0.5, sensors, null);
    expect(without.flagged).toBe(false);
    const a = without.towardFault[0];
    expect(a).toMatchObject({ valueText: 'missing', missing: true, range: null, placeText: 'missing (as in 25 % of training wafers)' });
    expect(without.towardPass[0]).toMatchObject({ valueText: '20', range: 'above', percentile: null, placeText: 'above p99: outside the training range' });
    const withQ = explanationView(explanation, 0.5, sensors, { A: q, B: q });
    expect(withQ.towardPass[0]).toMatchObject({ percentile: 10, placeText: '10th percentile, above p99: outside the training range' });
  });

  test('the missing readings that mattered: missing sensors and the missing-reading count, |log-odds| ≥ 0.01', () => {
    const v = explanationView(explanation, 0.5, sensors, null);
    expect(v.missingThatMattered.map((c) => c.sensor)).toEqual(['A', 'Missing readings (count)']);
  });

  test('a wafer not scored still shows the probability its readings give', () => {
    const v = explanationView({ ...explanation, probability: null }, 0.3, sensors, null);
    expect(v.flagged).toBe(false);
    expect(v.modelProbability).toBeCloseTo(0.4, 10);
  });
});
