/** The UI's own rules for what the user types and what is shown: the threshold box, bidi controls in names. */
import { describe, expect, test } from 'vitest';
import { formatCount, showBidiControls } from '../../src/lib/format';
import { readThresholdInput } from '../../src/lib/threshold';

describe('the threshold box', () => {
  test.each([
    ['2', '2 is not applied: a threshold is a probability, from 0 to 1. The threshold stays 0.292.'],
    ['-1', '-1 is not applied: a threshold is a probability, from 0 to 1. The threshold stays 0.292.'],
    ['1.0001', '1.0001 is not applied: a threshold is a probability, from 0 to 1. The threshold stays 0.292.'],
    ['', 'Enter a threshold from 0 to 1. The threshold stays 0.292.'],
    ['abc', '“abc” is not a number: enter a threshold from 0 to 1. The threshold stays 0.292.'],
    ['Infinity', '“Infinity” is not a number: enter a threshold from 0 to 1. The threshold stays 0.292.'],
  ])('refuses %j with a message', (text, message) => {
    expect(readThresholdInput(text, 0.2916)).toEqual({ ok: false, message });
  });
  test.each([
    ['0', 0],
    ['1', 1],
    [' 0.35 ', 0.35],
  ])('applies %j', (text, value) => {
    expect(readThresholdInput(text, 0.5)).toEqual({ ok: true, value });
  });
});

describe('what names show', () => {
  test('bidi controls are shown by code point; other text is unchanged', () => {
    expect(showBidiControls('\u202E108')).toBe('[U+202E]108');
    expect(showBidiControls('a\u2066b\u2069\u200F')).toBe('a[U+2066]b[U+2069][U+200F]');
    expect(showBidiControls('ویفر-12 Wafer')).toBe('ویفر-12 Wafer');
  });
  test('counts have thousands separators', () => {
    expect(formatCount(13107201)).toBe('13,107,201');
  });
});
