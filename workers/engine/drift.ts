/**
 * Does the file look like the training data? Each sensor's readings are binned on its 101 training quantiles
 * (one pass over the matrix, a binary search per reading; edits move one reading between bins), and three
 * tests are read from the bins:
 *
 * - distribution: the two-sample Kolmogorov–Smirnov statistic on the quantile grid (asymptotic p-value) and,
 *   as the effect size, the Wasserstein-1 distance divided by the training standard deviation (Evidently's
 *   measure, drift above 0.1);
 * - missing readings: a two-proportion z-test of the file's missing rate against training's;
 * - range: the share of readings outside the training 1 %–99 % range against the ≤ 2 % it has in training
 *   (a one-sided Chernoff bound, a valid if conservative p-value at any count).
 *
 * Every p-value is Bonferroni-corrected over all the file's tests (3 per sensor: ≈ 1,770 at 590 sensors, as
 * alibi-detect does), so a file drawn from the training distribution flags no sensor in 95 % of cases. Because a
 * large file makes any difference significant, a sensor drifts only when a test is significant *and* its effect
 * is large enough to matter (DISTANCE, MISSING_CHANGE, OUTSIDE_SHARE). The file's verdict weighs the drifted
 * sensors by the model's reliance on them (share of the booster's gain): "unlike the training data" when the
 * drifted sensors carry RELIANCE_UNLIKE of it, or when more than half of all sensors drift (Evidently's data-set
 * rule).
 */
import type { DriftReason, DriftReport, SensorDistribution, SensorDrift } from '../api';
import { formatCount } from '../format';
import { LUT_CELLS, QUANTILES, type Reference } from './reference';

/**
 * Below 50 wafers the report says "too few wafers" instead of guessing: with the correction for ≈ 1,770 tests,
 * 50 wafers can only reveal shifts that move a third of a sensor's distribution (KS D > 0.34), and the 1 %/99 %
 * tails expect a single wafer, so an absent verdict would read as "no drift" when nothing could be seen.
 */
export const MIN_WAFERS = 50;
/** A sensor's distribution and range are judged on at least this many readings of it. */
export const MIN_READINGS = 30;
export const ALPHA = 0.05;
export const DISTANCE = 0.1;
export const MISSING_CHANGE = 0.1;
/** Five times the ≤ 2 % of training readings outside p01–p99. */
export const OUTSIDE_SHARE = 0.1;
export const RELIANCE_UNLIKE = 0.25;
export const SHARE_UNLIKE = 0.5;
/** Bins per sensor: below the training minimum, at or below each of the 101 quantiles, above the maximum. */
export const BINS = QUANTILES + 2;
const TRAIN_OUTSIDE = 0.02;

/**
 * The bin of reading x of feature f: 0 below the training minimum, else 1 + the count of edges below x. The
 * lookup table gives a count of edges certainly below x; a short walk up finishes it.
 */
function binOf(ref: Reference, f: number, x: number): number {
  const { edges } = ref;
  const base = f * QUANTILES;
  if (x < (edges[base] as number)) return 0;
  const cell = (x - (ref.lutStart[f] as number)) * (ref.lutScale[f] as number);
  let i = cell < 0 ? 0 : (ref.lut[f * (LUT_CELLS + 1) + (cell >= LUT_CELLS ? LUT_CELLS : cell | 0)] as number);
  while (i < QUANTILES && (edges[base + i] as number) < x) i++;
  return 1 + i;
}

/**
 * At most this many wafers are binned (every k-th row of a larger file). The test cannot see more: its
 * precision is bounded by the 1,175 training wafers (CDF error ≈ 0.03) and the 1 % quantile grid, while 20,000
 * file wafers already pin the file's CDF to ≈ 0.007; binning all 100k rows would take 5 × as long for nothing.
 */
export const DRIFT_SAMPLE_ROWS = 20000;
/** Rows per block of the binning pass (≈ 150 KB of readings at 590 sensors: in L2 cache). */
const ROW_BLOCK = 64;

/** The file's readings binned per sensor, plus what the Wasserstein tails and the range test need. */
export class DriftCounts {
  readonly bins: Int32Array;
  readonly present: Int32Array;
  readonly outside: Int32Array;
  /** Σ (min − x) over readings below the training minimum, Σ (x − max) above the maximum. */
  readonly below: Float64Array;
  readonly above: Float64Array;
  /** Features with training quantiles. */
  private readonly judged: Int32Array;

  /** Rows binned: every `stride`-th row of the file. */
  rows = 0;

  constructor(
    private readonly ref: Reference,
    readonly nFeatures: number,
    /** Row r is binned when r % stride === 0 (edits of other rows do not move the counts). */
    readonly stride = 1,
    /** Rows in the file. */
    readonly fileRows = 0,
  ) {
    this.bins = new Int32Array(nFeatures * BINS);
    this.present = new Int32Array(nFeatures);
    this.outside = new Int32Array(nFeatures);
    this.below = new Float64Array(nFeatures);
    this.above = new Float64Array(nFeatures);
    const judged: number[] = [];
    for (let f = 0; f < nFeatures; f++) if (!Number.isNaN(ref.edges[f * QUANTILES] as number)) judged.push(f);
    this.judged = Int32Array.from(judged);
  }

  /** One pass over every `stride`-th row of a rows × nFeatures matrix (row-major, NaN = missing). */
  static build(ref: Reference, matrix: Float32Array, rows: number, nF: number, sampleRows = DRIFT_SAMPLE_ROWS): DriftCounts {
    const c = new DriftCounts(ref, nF, Math.max(1, Math.ceil(rows / sampleRows)), rows);
    for (let r = 0; r < rows; r += c.stride) c.rows++;
    // Blocks of rows that fit in the cache, then sensor by sensor within a block: each sensor's edges, table
    // and counts stay hot while its readings stream past. The hot loop of the report, so the bin search is
    // written out here rather than called.
    const step = c.stride * nF;
    const blockEnd = rows * nF;
    for (let block = 0; block < blockEnd; block += step * ROW_BLOCK) c.binBlock(matrix, block, Math.min(blockEnd, block + step * ROW_BLOCK), step);
    return c;
  }

  private binBlock(matrix: Float32Array, from: number, to: number, step: number): void {
    const { edges, lut, lutStart, lutScale } = this.ref;
    const { bins, present, outside, below, above } = this;
    for (const f of this.judged) {
      const base = f * QUANTILES;
      const bBase = f * BINS;
      const tBase = f * (LUT_CELLS + 1);
      const min = edges[base] as number;
      const max = edges[base + QUANTILES - 1] as number;
      const p01 = edges[base + 1] as number;
      const p99 = edges[base + QUANTILES - 2] as number;
      const start = lutStart[f] as number;
      const scale = lutScale[f] as number;
      let n = 0;
      let out = 0;
      let sumBelow = 0;
      let sumAbove = 0;
      for (let at = from + f; at < to; at += step) {
        const x = matrix[at] as number;
        if (x !== x) continue; // NaN: missing
        n++;
        if (x < p01 || x > p99) out++;
        let b: number;
        if (x < min) {
          b = 0;
          sumBelow += min - x;
        } else {
          const cell = (x - start) * scale;
          let i = cell < 0 ? 0 : (lut[tBase + (cell >= LUT_CELLS ? LUT_CELLS : cell | 0)] as number);
          while (i < QUANTILES && (edges[base + i] as number) < x) i++;
          b = 1 + i;
          if (x > max) sumAbove += x - max;
        }
        bins[bBase + b] = (bins[bBase + b] as number) + 1;
      }
      present[f] = (present[f] as number) + n;
      outside[f] = (outside[f] as number) + out;
      below[f] = (below[f] as number) + sumBelow;
      above[f] = (above[f] as number) + sumAbove;
    }
  }

  /** Row r is one of the binned rows. */
  inSample(row: number): boolean {
    return row % this.stride === 0;
  }

  /** Move one reading of feature f in (sign 1) or out (sign −1) of the counts; NaN (missing) counts nothing. */
  count(f: number, x: number, sign: 1 | -1): void {
    if (Number.isNaN(x)) return;
    const edges = this.ref.edges;
    const base = f * QUANTILES;
    const min = edges[base] as number;
    if (Number.isNaN(min)) return;
    const b = binOf(this.ref, f, x);
    this.bins[f * BINS + b] = (this.bins[f * BINS + b] as number) + sign;
    this.present[f] = (this.present[f] as number) + sign;
    if (x < (edges[base + 1] as number) || x > (edges[base + QUANTILES - 2] as number)) this.outside[f] = (this.outside[f] as number) + sign;
    if (b === 0) this.below[f] = (this.below[f] as number) + sign * (min - x);
    else if (b === BINS - 1) this.above[f] = (this.above[f] as number) + sign * (x - (edges[base + QUANTILES - 1] as number));
  }
}

/** erfc(x) for x ≥ 0 (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7). */
function erfc(x: number): number {
  const t = 1 / (1 + 0.5 * x);
  const poly =
    -x * x -
    1.26551223 +
    t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * Math.exp(poly);
}

/** Kolmogorov's asymptotic tail Q(λ) = 2 Σ (−1)^(k−1) exp(−2k²λ²). */
function kolmogorovTail(lambda: number): number {
  if (lambda < 0.3) return 1;
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = Math.exp(-2 * k * k * lambda * lambda);
    sum += k % 2 === 1 ? term : -term;
    if (term < 1e-16) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/** Two-sample KS p-value (Stephens' small-sample correction of λ). */
export function ksPValue(d: number, n: number, m: number): number {
  const ne = Math.sqrt((n * m) / (n + m));
  return kolmogorovTail((ne + 0.12 + 0.11 / ne) * d);
}

/** Two-sided two-proportion z-test p-value. */
export function twoProportionPValue(k1: number, n1: number, rate2: number, n2: number): number {
  const pooled = (k1 + rate2 * n2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (!(se > 0)) return 1;
  return erfc(Math.abs(k1 / n1 - rate2) / se / Math.SQRT2);
}

/** P(share of n readings ≥ observed | expected rate), bounded by Chernoff: exp(−n·KL(observed ‖ expected)). */
export function excessPValue(outside: number, n: number, expected: number): number {
  const q = outside / n;
  if (q <= expected) return 1;
  const kl = (q > 0 ? q * Math.log(q / expected) : 0) + (q < 1 ? (1 - q) * Math.log((1 - q) / (1 - expected)) : 0);
  return Math.min(1, Math.exp(-n * kl));
}

/** The file's CDF at each training edge, from the bins: F(e_i) = share of readings ≤ e_i. */
function fileCdf(c: DriftCounts, f: number): Float64Array {
  const n = c.present[f] as number;
  const out = new Float64Array(QUANTILES);
  let cum = c.bins[f * BINS] as number;
  for (let i = 0; i < QUANTILES; i++) {
    cum += c.bins[f * BINS + i + 1] as number;
    out[i] = n > 0 ? cum / n : 0;
  }
  return out;
}

/** KS statistic on the grid and Wasserstein-1 distance (value units) of one sensor. */
function distances(ref: Reference, c: DriftCounts, f: number): { ks: number; w1: number } {
  const n = c.present[f] as number;
  const cdf = fileCdf(c, f);
  const base = f * QUANTILES;
  let ks = (c.bins[f * BINS] as number) / n;
  let w1 = ((c.below[f] as number) + (c.above[f] as number)) / n;
  let prev = 0;
  for (let i = 0; i < QUANTILES; i++) {
    const d = Math.abs((cdf[i] as number) - (ref.cdf[base + i] as number));
    ks = Math.max(ks, d);
    if (i > 0) w1 += (((ref.edges[base + i] as number) - (ref.edges[base + i - 1] as number)) * (prev + d)) / 2;
    prev = d;
  }
  return { ks, w1 };
}

interface SensorTests {
  drift: Omit<SensorDrift, 'p' | 'reasons'>;
  pDistribution: number | null;
  pMissing: number;
  pRange: number | null;
}

function testSensor(ref: Reference, c: DriftCounts, f: number, name: string, used: boolean, reliance: number): SensorTests {
  const n = c.present[f] as number;
  const missing = c.rows - n;
  const trainMissingRate = ref.missingRate[f] as number;
  const base = { sensor: name, feature: f, reliance, usedByModel: used, present: n, missingRate: missing / c.rows, trainMissingRate };
  const pMissing = twoProportionPValue(missing, c.rows, trainMissingRate, ref.rows);
  const none = { outsideShare: null, distance: null, ks: null };
  if (Number.isNaN(ref.edges[f * QUANTILES] as number)) return { drift: { ...base, ...none, note: 'never read in training' }, pDistribution: null, pMissing, pRange: null };
  if (n < MIN_READINGS) return { drift: { ...base, ...none, note: `fewer than ${MIN_READINGS} readings in the file` }, pDistribution: null, pMissing, pRange: null };
  const { ks, w1 } = distances(ref, c, f);
  const std = ref.std[f] as number;
  const outsideShare = (c.outside[f] as number) / n;
  return {
    drift: { ...base, outsideShare, ks, distance: std > 0 ? w1 / std : null, note: std > 0 ? null : 'constant in training: judged by its range only' },
    pDistribution: std > 0 ? ksPValue(ks, n, ref.present[f] as number) : null,
    pMissing,
    pRange: excessPValue(c.outside[f] as number, n, TRAIN_OUTSIDE),
  };
}

/** The weights of the verdict: the booster's gain shares, or equal shares over the used sensors when absent. */
function relianceOf(ref: Reference, usedFeatures: number[], f: number): number {
  if (ref.hasReliance) return ref.reliance[f] as number;
  return usedFeatures.includes(f) ? 1 / usedFeatures.length : 0;
}

function thresholds(tests: number): DriftReport['thresholds'] {
  return { alpha: ALPHA, tests, distance: DISTANCE, missingChange: MISSING_CHANGE, outsideShare: OUTSIDE_SHARE, relianceUnlike: RELIANCE_UNLIKE, shareUnlike: SHARE_UNLIKE };
}

export function driftReport(ref: Reference, c: DriftCounts, features: string[], usedFeatures: number[]): DriftReport {
  const rows = c.fileRows;
  if (c.rows < MIN_WAFERS) {
    return {
      verdict: 'not-judged',
      headline: `Too few wafers to compare with the training data: ${formatCount(rows)} in this file, at least ${MIN_WAFERS} are needed to see anything but very large shifts.`,
      rows,
      binnedRows: c.rows,
      stride: c.stride,
      minWafers: MIN_WAFERS,
      sensorsTested: 0,
      sensorsDrifted: 0,
      modelSensorsDrifted: [],
      relianceDrifted: 0,
      sensors: [],
      thresholds: thresholds(0),
    };
  }
  const used = new Set(usedFeatures);
  const all = features.map((name, f) => testSensor(ref, c, f, name, used.has(f), relianceOf(ref, usedFeatures, f)));
  const tests = all.reduce((k, t) => k + 1 + (t.pDistribution !== null ? 1 : 0) + (t.pRange !== null ? 1 : 0), 0);
  const corrected = (p: number | null) => (p === null ? 1 : Math.min(1, p * tests));
  const sensors = all.map((t): SensorDrift => {
    const d = t.drift;
    const reasons: DriftReason[] = [];
    if (corrected(t.pDistribution) < ALPHA && (d.distance ?? 0) > DISTANCE) reasons.push('distribution');
    if (corrected(t.pMissing) < ALPHA && Math.abs(d.missingRate - d.trainMissingRate) >= MISSING_CHANGE) reasons.push('missing');
    if (corrected(t.pRange) < ALPHA && (d.outsideShare ?? 0) >= OUTSIDE_SHARE) reasons.push('range');
    return { ...d, p: Math.min(corrected(t.pDistribution), corrected(t.pMissing), corrected(t.pRange)), reasons };
  });
  sensors.sort((a, b) => b.reliance - a.reliance || a.feature - b.feature);
  return verdictOf(sensors, c, tests);
}

function verdictOf(sensors: SensorDrift[], c: DriftCounts, tests: number): DriftReport {
  const drifted = sensors.filter((s) => s.reasons.length > 0);
  const modelDrifted = drifted.filter((s) => s.usedByModel);
  const relianceDrifted = modelDrifted.reduce((sum, s) => sum + s.reliance, 0);
  const tested = sensors.filter((s) => s.note !== 'never read in training').length;
  const unlike = relianceDrifted >= RELIANCE_UNLIKE || drifted.length > SHARE_UNLIKE * tested;
  const verdict = unlike ? 'unlike' : drifted.length > 0 ? 'some-drift' : 'similar';
  return {
    verdict,
    headline: headlineOf(verdict, modelDrifted, drifted.length - modelDrifted.length, relianceDrifted),
    rows: c.fileRows,
    binnedRows: c.rows,
    stride: c.stride,
    minWafers: MIN_WAFERS,
    sensorsTested: tested,
    sensorsDrifted: drifted.length,
    modelSensorsDrifted: modelDrifted.map((s) => s.sensor),
    relianceDrifted,
    sensors,
    thresholds: thresholds(tests),
  };
}

function headlineOf(verdict: DriftReport['verdict'], model: SensorDrift[], others: number, reliance: number): string {
  const names = model.slice(0, 6).map((s) => s.sensor).join(', ') + (model.length > 6 ? ` and ${model.length - 6} more` : '');
  const share = `${Math.round(reliance * 100)} % of what the model relies on`;
  const otherText = others > 0 ? `${model.length > 0 ? '; also ' : ''}${formatCount(others)} ${others === 1 ? 'sensor' : 'sensors'} the model does not use` : '';
  if (verdict === 'similar') return 'This file looks like the training data: no sensor differs from its training distribution by more than chance and a small effect.';
  const which = model.length > 0 ? `sensors the model uses differ from training: ${names} (${share})${otherText}` : `only sensors the model does not use differ from training (${formatCount(others)})`;
  if (verdict === 'unlike') return `This file looks unlike the training data: ${which}. Its predictions are less reliable than the model card says.`;
  return `Some sensors drift, ${which}; not enough of the model's inputs to call the file unlike the training data.`;
}

/** One sensor's training quantiles and the file's CDF at them. */
export function sensorDistribution(ref: Reference, c: DriftCounts, f: number, name: string): SensorDistribution {
  const base = f * QUANTILES;
  const n = c.present[f] as number;
  const nBelow = c.bins[f * BINS] as number;
  const nAbove = c.bins[f * BINS + BINS - 1] as number;
  return {
    sensor: name,
    edges: Array.from(ref.edges.subarray(base, base + QUANTILES)),
    trainCdf: Array.from(ref.cdf.subarray(base, base + QUANTILES)),
    fileCdf: Array.from(fileCdf(c, f)),
    below: n > 0 ? nBelow / n : 0,
    above: n > 0 ? nAbove / n : 0,
    belowMean: nBelow > 0 ? (ref.edges[base] as number) - (c.below[f] as number) / nBelow : null,
    aboveMean: nAbove > 0 ? (ref.edges[base + QUANTILES - 1] as number) + (c.above[f] as number) / nAbove : null,
    present: n,
  };
}

/** The training 1 % and 99 % readings per feature (float32; NaN where unknown): a wafer's reading outside counts. */
export interface RangeBounds {
  lo: Float32Array;
  hi: Float32Array;
}

export function rangeBounds(ref: Reference | null, nF: number, fallback: (f: number) => { p01: number | null; p99: number | null } | undefined): RangeBounds {
  const lo = new Float32Array(nF).fill(Number.NaN);
  const hi = new Float32Array(nF).fill(Number.NaN);
  for (let f = 0; f < nF; f++) {
    if (ref) {
      lo[f] = ref.edges[f * QUANTILES + 1] as number;
      hi[f] = ref.edges[f * QUANTILES + QUANTILES - 2] as number;
    } else {
      const s = fallback(f);
      if (s && s.p01 !== null && s.p99 !== null) {
        lo[f] = Math.fround(s.p01);
        hi[f] = Math.fround(s.p99);
      }
    }
  }
  return { lo, hi };
}

/** How many of the model's sensors have a reading outside the training range in one row (missing: not counted). */
export function countOutOfRange(matrix: Float32Array, row: number, nF: number, usedFeatures: number[], b: RangeBounds): number {
  const base = row * nF;
  let out = 0;
  for (const f of usedFeatures) {
    const x = matrix[base + f] as number;
    if (x < (b.lo[f] as number) || x > (b.hi[f] as number)) out++;
  }
  return out;
}
