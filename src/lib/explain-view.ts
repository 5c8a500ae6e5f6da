/**
 * What the wafer panel shows, derived from an engine explanation: the sensors pushing the wafer toward fault and
 * toward pass (largest first), each reading placed in the training distribution, and the missing readings that
 * mattered. Pure, so it is tested without a browser.
 */
import type { SensorContribution, WaferExplanation } from '../../workers/api';
import type { SensorStats } from '../../workers/model-json';
import { isFlagged } from '../../workers/format';

export { signedLogOdds } from '../../workers/format';

/** Bars per direction in the chart. */
export const SHOWN_PER_DIRECTION = 8;
/** A missing reading "mattered" when it moved the log-odds by at least this much. */
export const MISSING_MATTERS = 0.01;

export type RangePlace = 'below' | 'inside' | 'above';

export interface ContributionView {
  sensor: string;
  feature: number;
  contribution: number;
  direction: 'fault' | 'pass';
  /** The reading as text, "missing" when missing. */
  valueText: string;
  missing: boolean;
  /** Percentile (0–100) among the present training readings; null without reference quantiles. */
  percentile: number | null;
  /** Against the training p01–p99; null when missing or unknown. */
  range: RangePlace | null;
  /** One line for people: "97th percentile, inside p01–p99". */
  placeText: string;
}

export interface ExplanationView {
  name: string;
  row: number;
  probability: number | null;
  /** P(fail) from the readings, shown when the wafer is not scored (low coverage). */
  modelProbability: number;
  flagged: boolean;
  base: number;
  towardFault: ContributionView[];
  towardPass: ContributionView[];
  /** The sum of the contributions not shown in either list. */
  restSum: number;
  missingThatMattered: ContributionView[];
  missingModelReadings: number;
}

/**
 * Percentile (0–100) of v among readings whose 101 quantiles (0 %, 1 %, … 100 %) are given: linear between
 * quantiles; a value equal to a run of tied quantiles sits in the middle of the run.
 */
export function percentileOf(v: number, q: readonly number[]): number {
  const last = q.length - 1;
  if (v < (q[0] as number)) return 0;
  if (v > (q[last] as number)) return 100;
  let first = -1;
  let end = -1;
  for (let i = 0; i <= last; i++) {
    if (q[i] === v) {
      if (first < 0) first = i;
      end = i;
    }
  }
  if (first >= 0) return ((first + end) / 2 / last) * 100;
  let k = 0;
  while (k < last && (q[k + 1] as number) < v) k++;
  const lo = q[k] as number;
  const hi = q[k + 1] as number;
  return ((k + (v - lo) / (hi - lo)) / last) * 100;
}

export function rangePlace(v: number, stats: SensorStats | undefined): RangePlace | null {
  if (!stats || stats.p01 === null || stats.p99 === null) return null;
  if (v < stats.p01) return 'below';
  if (v > stats.p99) return 'above';
  return 'inside';
}

function ordinal(n: number): string {
  const r = Math.round(n);
  const tens = r % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][r % 10] ?? 'th');
  return `${r}${suffix}`;
}

const RANGE_TEXT: Record<RangePlace, string> = {
  below: 'below p01: outside the training range',
  inside: 'inside p01–p99',
  above: 'above p99: outside the training range',
};

function placeText(c: SensorContribution, percentile: number | null, range: RangePlace | null, stats: SensorStats | undefined): string {
  if (c.feature < 0) return 'missing readings of this wafer';
  if (c.value === null) return stats ? `missing (as in ${formatShare(stats.missing_rate)} of training wafers)` : 'missing';
  const parts = [percentile !== null ? `${ordinal(percentile)} percentile` : null, range ? RANGE_TEXT[range] : null].filter((x) => x !== null);
  return parts.length > 0 ? parts.join(', ') : 'no training statistics';
}

function formatShare(rate: number): string {
  const pct = rate * 100;
  return `${pct < 1 && pct > 0 ? pct.toFixed(1) : Math.round(pct)} %`;
}

/** A reading as the panel shows it: up to 6 significant digits. */
export function readingText(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
}

export function contributionView(
  c: SensorContribution,
  sensors: Record<string, SensorStats>,
  quantiles: Record<string, number[] | null> | null,
): ContributionView {
  const stats = c.feature >= 0 ? sensors[c.sensor] : undefined;
  const q = c.feature >= 0 ? (quantiles?.[c.sensor] ?? null) : null;
  const present = c.value !== null && c.feature >= 0;
  const percentile = present && q ? percentileOf(c.value as number, q) : null;
  const range = present ? rangePlace(c.value as number, stats) : null;
  return {
    sensor: c.sensor,
    feature: c.feature,
    contribution: c.contribution,
    direction: c.contribution > 0 ? 'fault' : 'pass',
    valueText: c.value === null ? 'missing' : readingText(c.value),
    missing: c.value === null && c.feature >= 0,
    percentile,
    range,
    placeText: placeText(c, percentile, range, stats),
  };
}

export function explanationView(
  e: WaferExplanation,
  threshold: number,
  sensors: Record<string, SensorStats>,
  quantiles: Record<string, number[] | null> | null,
): ExplanationView {
  const views = e.contributions.map((c) => contributionView(c, sensors, quantiles));
  const towardFault = views.filter((v) => v.contribution > 0).slice(0, SHOWN_PER_DIRECTION);
  const towardPass = views.filter((v) => v.contribution < 0).slice(0, SHOWN_PER_DIRECTION);
  const shown = new Set([...towardFault, ...towardPass]);
  const restSum = views.filter((v) => !shown.has(v)).reduce((sum, v) => sum + v.contribution, 0);
  const missingThatMattered = views.filter((v) => (v.missing || v.feature < 0) && Math.abs(v.contribution) >= MISSING_MATTERS);
  const modelProbability = 1 / (1 + Math.exp(-e.margin));
  return {
    name: e.name,
    row: e.row,
    probability: e.probability,
    modelProbability,
    flagged: isFlagged(e.probability, threshold),
    base: e.base,
    towardFault,
    towardPass,
    restSum,
    missingThatMattered,
    missingModelReadings: e.missingModelReadings,
  };
}
