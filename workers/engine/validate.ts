/** Cell validation: readings, missing markers, issues, formula-like text. Allocation-free on the hot path. */

export const CellKind = {
  Number: 0,
  Missing: 1,
  /** Text that is not a number (it is treated as a missing reading once the user has been told). */
  Text: 2,
  /** inf / -inf / Infinity / beyond float32 range. */
  NonFinite: 3,
} as const;
export type CellKind = (typeof CellKind)[keyof typeof CellKind];

const MISSING_MARKERS = new Set(['', 'na', 'n/a', 'nan', 'null', 'none', '-']);
const MISSING_EXACT = new Set(['', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL', 'None', '-', 'n/a', 'NAN', 'na', 'none', 'NONE', 'Null']);
const INF_RE = /^[+-]?(inf|infinity)$/i;
const FLOAT32_MAX = 3.4028234663852886e38;

/** Out-parameter for `classifyCell`: the value when the kind is Number; whether a decimal comma or a thousands point was read. */
export interface CellOut {
  value: number;
  decimalComma: boolean;
  thousandsPoint: boolean;
}

export function newCellOut(): CellOut {
  return { value: 0, decimalComma: false, thousandsPoint: false };
}

/**
 * A number as written where the decimal separator is a comma: "-0,0279", "1.234,5", "2.968" (= 2968: a point only
 * between groups of three digits, as a thousands separator), "12", "1,5E-3".
 */
const COMMA_NUMBER_RE = /^[+-]?(?:(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d*)?|,\d+)(?:[eE][+-]?\d+)?$/;

function trimmed(raw: string): string {
  let from = 0;
  let to = raw.length;
  while (from < to && isWs(raw.charCodeAt(from))) from++;
  while (to > from && isWs(raw.charCodeAt(to - 1))) to--;
  return from === 0 && to === raw.length ? raw : raw.slice(from, to);
}

function isMissingMarker(t: string): boolean {
  return MISSING_EXACT.has(t) || MISSING_MARKERS.has(t.toLowerCase());
}

/** classifyCell for the decimal-comma format: a point is a thousands separator, never a decimal one. */
function classifyCommaCell(raw: string, out: CellOut): CellKind {
  const t = trimmed(raw);
  if (COMMA_NUMBER_RE.test(t)) {
    const grouped = t.includes('.');
    const v = Number((grouped ? t.replaceAll('.', '') : t).replace(',', '.'));
    if (!Number.isFinite(v) || Math.abs(v) > FLOAT32_MAX) return CellKind.NonFinite;
    out.value = v;
    out.decimalComma = t.includes(',');
    out.thousandsPoint = grouped;
    return CellKind.Number;
  }
  if (isMissingMarker(t)) return CellKind.Missing;
  if (INF_RE.test(t)) return CellKind.NonFinite;
  return CellKind.Text;
}

/** Last char of a plain decimal: a digit or "." ("5."); excludes "Infinity" and trailing whitespace forms. */
function isFastDecimalEnd(c: number): boolean {
  return (c >= 48 && c <= 57) || c === 46;
}

function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 0xa0 || c === 0xfeff;
}

/**
 * Strict decimal check on s[from, to): optional sign, digits with optional fraction (".5" and "5." allowed),
 * optional exponent. No hex, no thousands separators, no "Infinity". `sep` is the decimal separator char code.
 */
function isDecimal(s: string, from: number, to: number, sep: number): boolean {
  let i = from;
  if (i >= to) return false;
  let c = s.charCodeAt(i);
  if (c === 43 || c === 45) {
    i++;
    if (i >= to) return false;
    c = s.charCodeAt(i);
  }
  let digits = 0;
  while (i < to && (c = s.charCodeAt(i)) >= 48 && c <= 57) {
    i++;
    digits++;
  }
  if (i < to && s.charCodeAt(i) === sep) {
    i++;
    while (i < to && (c = s.charCodeAt(i)) >= 48 && c <= 57) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return false;
  if (i < to) {
    c = s.charCodeAt(i);
    if (c !== 101 && c !== 69) return false;
    i++;
    if (i < to) {
      c = s.charCodeAt(i);
      if (c === 43 || c === 45) i++;
    }
    let ed = 0;
    while (i < to && (c = s.charCodeAt(i)) >= 48 && c <= 57) {
      i++;
      ed++;
    }
    if (ed === 0 || i !== to) return false;
  }
  return true;
}

/** Exact powers of ten as doubles (10^0 … 10^22 are exactly representable). */
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * Hand-written parse of the common reading shape: optional sign, digits, optional "." and digits (".5" and "5."
 * allowed), at most 15 digits in all, nothing else. Returns NaN for anything else (the caller falls back to the
 * strict rules). With ≤ 15 digits the digits form an exact integer below 2^53 and 10^k (k ≤ 15) is exact, so one
 * IEEE division gives the correctly rounded value: bit-identical to Number(raw) (Clinger's fast path).
 */
export function parseSimpleDecimal(s: string, n: number): number {
  let i = 0;
  let neg = false;
  let c = s.charCodeAt(0);
  if (c === 45 || c === 43) {
    neg = c === 45;
    i = 1;
  }
  let mant = 0;
  let digits = 0;
  let frac = -1;
  for (; i < n; i++) {
    c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      mant = mant * 10 + (c - 48);
      digits++;
    } else if (c === 46 && frac < 0) frac = digits;
    else return Number.NaN;
  }
  if (digits === 0 || digits > 15) return Number.NaN;
  const v = frac < 0 ? mant : mant / (POW10[digits - frac] as number);
  return neg ? -v : v;
}

/**
 * Classify one cell of a feature column, in the file's number format: with `decimalComma` "3,14" is 3.14 and
 * "2.968" is 2968; without it "3.14" is 3.14 and "3,14" is not a number.
 */
export function classifyCell(raw: string, decimalComma: boolean, out: CellOut): CellKind {
  out.decimalComma = false;
  out.thousandsPoint = false;
  if (decimalComma) return classifyCommaCell(raw, out);
  const n = raw.length;
  if (n === 0) return CellKind.Missing;
  // Fast path: a plain decimal starting with a digit, sign or point (Number() accepts a superset; the
  // exclusions are hex/binary/octal prefixes, which only follow a leading "0", and a bare sign/point).
  const c0 = raw.charCodeAt(0);
  if ((c0 >= 48 && c0 <= 57) || c0 === 45 || c0 === 43 || c0 === 46) {
    // Fastest path (most SECOM cells): [sign] digits [. digits], ≤ 15 digits, no exponent. Same double as Number().
    const fast = parseSimpleDecimal(raw, n);
    if (fast === fast) {
      out.value = fast;
      return CellKind.Number;
    }
    const c1 = n > 1 ? raw.charCodeAt(1) | 0x20 : 0;
    if (!(c0 === 48 && (c1 === 120 || c1 === 98 || c1 === 111))) {
      const v = Number(raw);
      if (v === v && isFastDecimalEnd(raw.charCodeAt(n - 1))) {
        if (!Number.isFinite(v) || Math.abs(v) > FLOAT32_MAX) return CellKind.NonFinite;
        out.value = v;
        return CellKind.Number;
      }
    }
  }
  let from = 0;
  let to = n;
  while (from < to && isWs(raw.charCodeAt(from))) from++;
  while (to > from && isWs(raw.charCodeAt(to - 1))) to--;
  if (isDecimal(raw, from, to, 46)) {
    const v = Number(from === 0 && to === n ? raw : raw.slice(from, to));
    if (!Number.isFinite(v) || Math.abs(v) > FLOAT32_MAX) return CellKind.NonFinite;
    out.value = v;
    return CellKind.Number;
  }
  const t = from === 0 && to === n ? raw : raw.slice(from, to);
  if (isMissingMarker(t)) return CellKind.Missing;
  if (INF_RE.test(t)) return CellKind.NonFinite;
  return CellKind.Text;
}

/** Whether a text that is not a reading in one number format is one in the other (e.g. "3,14" with decimal points). */
export function isNumberInOtherFormat(raw: string, decimalComma: boolean): boolean {
  return classifyCell(raw, !decimalComma, newCellOut()) === CellKind.Number;
}

/** A plain-language reason for an invalid reading, or null when the cell is a number or a missing marker. */
export function cellIssueText(raw: string, decimalComma: boolean): string | null {
  const k = classifyCell(raw, decimalComma, newCellOut());
  const shown = raw.length > 40 ? `${raw.slice(0, 40)}…` : raw;
  if (k === CellKind.NonFinite) return `“${shown}” is not a finite reading; it is treated as a missing reading.`;
  if (k === CellKind.Text && isNumberInOtherFormat(raw, decimalComma)) {
    return `“${shown}” is not a number with a decimal ${decimalComma ? 'comma' : 'point'}, the number format this file is read with; it is treated as a missing reading.`;
  }
  if (k === CellKind.Text) return `“${shown}” is not a number; it is treated as a missing reading.`;
  return null;
}

/** Whether the text looks numeric in either number format (number, missing marker, infinity) — never formula-like. */
function isNumericLike(raw: string): boolean {
  const out = newCellOut();
  return classifyCell(raw, false, out) !== CellKind.Text || classifyCell(raw, true, out) !== CellKind.Text;
}

/**
 * A text cell a spreadsheet may run as a formula (OWASP CSV injection): starts with = + - @ TAB or CR and is not
 * a number in either number format (so neither "-1.5" nor "-0,0279" is formula-like, whatever the file's format).
 */
export function isFormulaLike(raw: string): boolean {
  if (raw.length === 0) return false;
  const c = raw.charCodeAt(0);
  if (c !== 61 && c !== 43 && c !== 45 && c !== 64 && c !== 9 && c !== 13) return false;
  return !isNumericLike(raw);
}

export type NumberFormat = 'point' | 'comma';

/**
 * The number format of a file from a sample of its sensor cells: decimal comma when more cells are numbers only
 * with a comma ("0,5", "1.234,5") than only with a point ("0.5", "1.5e-3"). Cells that are numbers either way but
 * mean different values ("2.968") decide nothing; `undecided` when they are all the sample has to go by.
 */
export function detectNumberFormat(cells: Iterable<string>): { format: NumberFormat; undecided: boolean } {
  const out = newCellOut();
  let commaOnly = 0;
  let pointOnly = 0;
  let ambiguous = 0;
  for (const raw of cells) {
    const asPoint = classifyCell(raw, false, out) === CellKind.Number ? out.value : null;
    const asComma = classifyCell(raw, true, out) === CellKind.Number ? out.value : null;
    if (asComma !== null && asPoint === null) commaOnly++;
    else if (asPoint !== null && asComma === null) pointOnly++;
    else if (asPoint !== null && asComma !== null && asPoint !== asComma) ambiguous++;
  }
  return { format: commaOnly > pointOnly ? 'comma' : 'point', undecided: commaOnly === 0 && pointOnly === 0 && ambiguous > 0 };
}

/** Neutralize a formula-like cell by prefixing a single quote. */
export function neutralize(raw: string): string {
  return `'${raw}`;
}

export type LabelValue = 1 | 0 | -1;

/** A plain decimal as exporters write label codes ("1", "-1.0"); not "0x1", "1e0" or "". */
const PLAIN_NUMBER_RE = /^[+-]?\d+(?:\.\d*)?$/;

/** The text of a label cell as compared: trimmed, case-folded; '' for a missing label (empty, NA, …). */
export function labelKey(raw: string): string {
  const t = trimmed(raw);
  return isMissingMarker(t) ? '' : t.toLowerCase();
}

export function makeLabelReader(failValues: string[], passValues: string[]): (raw: string) => LabelValue {
  const f = new Set(failValues.map(labelKey));
  const p = new Set(passValues.map(labelKey));
  return (raw: string) => {
    const t = labelKey(raw);
    if (t === '') return -1;
    if (f.has(t)) return 1;
    if (p.has(t)) return 0;
    // Numeric spellings of the values ("1.0", "-1.0") as written by some exporters.
    if (PLAIN_NUMBER_RE.test(t)) {
      const num = Number(t);
      for (const v of f) if (PLAIN_NUMBER_RE.test(v) && Number(v) === num) return 1;
      for (const v of p) if (PLAIN_NUMBER_RE.test(v) && Number(v) === num) return 0;
    }
    return -1;
  };
}

/** The user's coding: the one value that means fail; every other label value means pass. */
export function makeChosenLabelReader(failValue: string): (raw: string) => LabelValue {
  const fail = labelKey(failValue);
  return (raw: string) => {
    const t = labelKey(raw);
    return t === '' ? -1 : t === fail ? 1 : 0;
  };
}

/**
 * Whether the label values found can be read without asking: every value the model declares is a word
 * (Good/Bad, Pass/Fail…) or the model's own -1 (pass) / 1 (fail) codes with a -1 among them. 0/1, 1/2, true/false,
 * yes/no, A/B… each have both readings in use, so the user says which value means fail.
 */
export function isUnambiguousCoding(values: string[], read: (raw: string) => LabelValue): boolean {
  const numbers = values.filter((v) => PLAIN_NUMBER_RE.test(labelKey(v))).map((v) => Number(labelKey(v)));
  if (numbers.some((n) => n !== 1 && n !== -1)) return false;
  if (numbers.length > 0 && !numbers.includes(-1)) return false;
  return values.some((v) => read(v) !== -1);
}
