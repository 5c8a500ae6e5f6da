/** Cell validation table, formula detection, labels. */
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { CellKind, cellIssueText, classifyCell, isFormulaLike, makeLabelReader, neutralize, type CellOut } from '../../workers/engine/validate';
import { path } from './helpers';

const out: CellOut = { value: 0, decimalComma: false };
function read(raw: string, decimalComma = false): number | 'missing' | 'text' | 'nonfinite' {
  const k = classifyCell(raw, decimalComma, out);
  if (k === CellKind.Number) return out.value;
  return k === CellKind.Missing ? 'missing' : k === CellKind.Text ? 'text' : 'nonfinite';
}

describe('classifyCell', () => {
  test.each<[string, ReturnType<typeof read>]>([
    ['1', 1],
    ['  2.5 ', 2.5],
    ['-0.0279', -0.0279],
    ['+3', 3],
    ['.5', 0.5],
    ['5.', 5],
    ['1e3', 1000],
    ['-1.5E-2', -0.015],
    ['1e-400', 0],
    ['3.4e38', 3.4e38],
    ['', 'missing'],
    ['   ', 'missing'],
    ['NA', 'missing'],
    ['N/A', 'missing'],
    ['NaN', 'missing'],
    ['nan', 'missing'],
    ['null', 'missing'],
    ['NULL', 'missing'],
    ['None', 'missing'],
    ['-', 'missing'],
    ['inf', 'nonfinite'],
    ['-inf', 'nonfinite'],
    ['Infinity', 'nonfinite'],
    ['1e400', 'nonfinite'],
    ['-3.5e39', 'nonfinite'],
    ['0x1A', 'text'],
    ['1,000', 'text'],
    ['1 000', 'text'],
    ['3,14', 'text'],
    ['2020-01-23', 'text'],
    ['high', 'text'],
    ['n/a?', 'text'],
    ['1e', 'text'],
    ['.', 'text'],
    ['--1', 'text'],
    ['=1+1', 'text'],
  ])('%j → %j', (raw, expected) => {
    expect(read(raw)).toEqual(expected);
  });

  test('decimal comma only when allowed (semicolon files)', () => {
    expect(read('3,14', true)).toBeCloseTo(3.14, 12);
    expect(out.decimalComma).toBe(true);
    expect(read('-0,5e2', true)).toBe(-50);
    expect(read('3.14', true)).toBe(3.14);
    expect(out.decimalComma).toBe(false);
    expect(read('1,000,5', true)).toBe('text');
  });

  test('issue texts for the grid', () => {
    expect(cellIssueText('abc', false)).toBe('“abc” is not a number; it will be treated as a missing reading.'.replace('it will be', 'it is'));
    expect(cellIssueText('inf', false)).toMatch(/not a finite reading/);
    expect(cellIssueText('1.5', false)).toBeNull();
    expect(cellIssueText('NA', false)).toBeNull();
  });
});

describe('formula-like cells', () => {
  test.each<[string, boolean]>([
    ['=HYPERLINK("http://x","y")', true],
    ['@SUM(A1:A2)', true],
    ['+cmd', true],
    ['-cmd', true],
    ['\t=1', true],
    ['\rfoo', true],
    ['=1+1', true],
    ['-1.5', false],
    ['+3', false],
    ['-', false],
    ['-inf', false],
    ['plain', false],
    ['', false],
    [' =1', false],
  ])('%j → %s', (raw, expected) => {
    expect(isFormulaLike(raw)).toBe(expected);
  });
  test('neutralize prefixes a quote', () => {
    expect(neutralize('=1+1')).toBe("'=1+1");
  });
});

describe('labels', () => {
  const label = makeLabelReader(['1', 'fail', 'bad', 'fault'], ['-1', '0', 'pass', 'good', 'ok']);
  test.each<[string, number]>([
    ['1', 1],
    [' -1 ', 0],
    ['FAIL', 1],
    ['Good', 0],
    ['1.0', 1],
    ['-1.0', 0],
    ['0', 0],
    ['', -1],
    ['maybe', -1],
    ['2', -1],
  ])('%j → %i', (raw, expected) => {
    expect(label(raw)).toBe(expected);
  });
});

describe('the reading rules batch scoring shares (tests/fixtures/reading-rules.json)', () => {
  const vectors = JSON.parse(readFileSync(path('tests/fixtures/reading-rules.json'), 'utf8')) as Record<'point' | 'comma', [string, number | null][]>;
  test.each([
    ['decimal point', vectors.point, false],
    ['decimal comma', vectors.comma, true],
  ] as const)('%s', (_name, cases, decimalComma) => {
    const out: CellOut = { value: 0, decimalComma: false };
    for (const [raw, expected] of cases) {
      const kind = classifyCell(raw, decimalComma, out);
      expect([raw, kind === CellKind.Number ? out.value : null]).toEqual([raw, expected]);
    }
  });
});
