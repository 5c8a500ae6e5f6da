/** Cell validation table, formula detection, labels. */
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { CellKind, cellIssueText, classifyCell, detectNumberFormat, isFormulaLike, isUnambiguousCoding, makeChosenLabelReader, makeLabelReader, neutralize, newCellOut, type CellOut } from '../../workers/engine/validate';
import { path } from './helpers';

const out: CellOut = newCellOut();
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

  test('decimal comma format: the comma is the decimal separator, a point only separates thousands', () => {
    expect(read('3,14', true)).toBeCloseTo(3.14, 12);
    expect(out.decimalComma).toBe(true);
    expect(read('-0,0279', true)).toBeCloseTo(-0.0279, 12);
    expect(read('-0,5e2', true)).toBe(-50);
    expect(read('2.968', true)).toBe(2968);
    expect(out).toMatchObject({ decimalComma: false, thousandsPoint: true });
    expect(read('1.234.567,5', true)).toBe(1234567.5);
    expect(read('12', true)).toBe(12);
    expect(read(' 7,5 ', true)).toBe(7.5);
    expect(read('NA', true)).toBe('missing');
    expect(read('-inf', true)).toBe('nonfinite');
    // A point anywhere else is no number in this format: never silently read as a decimal point.
    expect(read('3.14', true)).toBe('text');
    expect(read('1234.567', true)).toBe('text');
    expect(read('1,000,5', true)).toBe('text');
  });

  test('decimal point format: a comma is never a reading', () => {
    expect(read('2.968')).toBe(2.968);
    expect(read('3,14')).toBe('text');
    expect(read('-0,0279')).toBe('text');
  });

  test('number format detection: the cells only one format reads decide; "2.968" decides nothing', () => {
    expect(detectNumberFormat(['0,5', '-0,0279', '2.968', '12'])).toEqual({ format: 'comma', undecided: false });
    expect(detectNumberFormat(['0.5', '1.5e-3', '2.968'])).toEqual({ format: 'point', undecided: false });
    expect(detectNumberFormat(['2.968', '1.234', '12'])).toEqual({ format: 'point', undecided: true });
    expect(detectNumberFormat(['12', '', 'NA'])).toEqual({ format: 'point', undecided: false });
  });

  test('issue text names the number format when the other one would read the cell', () => {
    expect(cellIssueText('-0,0279', false)).toBe('“-0,0279” is not a number with a decimal point, the number format this file is read with; it is treated as a missing reading.');
    expect(cellIssueText('3.14', true)).toBe('“3.14” is not a number with a decimal comma, the number format this file is read with; it is treated as a missing reading.');
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
    // Numbers in either format are never neutralized, whatever format the file is read with.
    ['-0,0279', false],
    ['-1.234,5', false],
    ['+2,5e3', false],
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
    ['0x1', -1],
    ['1e0', -1],
    ['NA', -1],
  ])('%j → %i', (raw, expected) => {
    expect(label(raw)).toBe(expected);
  });

  test.each<[string[], boolean]>([
    [['-1', '1'], true],
    [['-1'], true],
    [['Good', 'Bad'], true],
    [['PASS', 'fail', 'maybe'], true],
    [['-1.0', '1.0'], true],
    [['0', '1'], false],
    [['1'], false],
    [['1', '2'], false],
    [['0x1', '0x0'], false],
    [['-1', '0', '1'], false],
    [['true', 'false'], false],
    [['yes', 'no'], false],
    [['A', 'B'], false],
  ])('coding %j read without asking: %s', (values, expected) => {
    expect(isUnambiguousCoding(values, label)).toBe(expected);
  });

  test('a chosen coding: that value is a fail, every other value a pass, a missing label unknown', () => {
    const chosen = makeChosenLabelReader('B');
    expect(['B', ' b ', 'A', 'C', '', 'NA'].map(chosen)).toEqual([1, 1, 0, 0, -1, -1]);
  });
});

describe('the reading rules batch scoring shares (tests/fixtures/reading-rules.json)', () => {
  const vectors = JSON.parse(readFileSync(path('tests/fixtures/reading-rules.json'), 'utf8')) as Record<'point' | 'comma', [string, number | null][]>;
  test.each([
    ['decimal point', vectors.point, false],
    ['decimal comma', vectors.comma, true],
  ] as const)('%s', (_name, cases, decimalComma) => {
    const out: CellOut = newCellOut();
    for (const [raw, expected] of cases) {
      const kind = classifyCell(raw, decimalComma, out);
      expect([raw, kind === CellKind.Number ? out.value : null]).toEqual([raw, expected]);
    }
  });
});
