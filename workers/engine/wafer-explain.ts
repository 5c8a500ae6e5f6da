/**
 * Explanations of a loaded file's wafers: one wafer for the panel (explain()), and the `top_sensors` column of
 * the download, an extra column any exporter (the page's, the CLI's streaming core) adds per row.
 */
import type { SensorContribution, WaferExplanation } from '../api';
import { signedLogOdds } from '../format';
import type { Explainer } from './explain';
import { waferName, type Session } from './session';

/** Contributions below this (log-odds) are left out of the top_sensors text: they would read "+0.00". */
const SHOWN_MIN = 0.005;
export const TOP_SENSORS = 3;
export const TOP_SENSORS_COLUMN = 'top_sensors';

/** A wafer's readings (edits applied: the session's matrix follows them). */
function readings(s: Session, row: number): Float32Array {
  return s.matrix.subarray(row * s.nFeatures, (row + 1) * s.nFeatures);
}

export function explainWafer(s: Session, explainer: Explainer, row: number): WaferExplanation {
  const x = readings(s, row);
  const { phi, base, margin } = explainer.explain(x);
  const contributions: SensorContribution[] = [];
  for (let i = 0; i <= explainer.nFeatures; i++) {
    const c = phi[i] as number;
    if (c === 0) continue;
    const isCount = i === explainer.nFeatures;
    const v = isCount ? countMissing(x) : (x[i] as number);
    contributions.push({ sensor: explainer.featureName(i), feature: isCount ? -1 : i, value: Number.isNaN(v) ? null : v, contribution: c });
  }
  contributions.sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution) || a.feature - b.feature);
  const p = s.probabilities[row] as number;
  const missingModelReadings = s.usedFeatures.reduce((n, j) => n + (Number.isNaN(x[j] as number) ? 1 : 0), 0);
  return { row, name: waferName(s, row), probability: Number.isNaN(p) ? null : p, margin, base, contributions, missingModelReadings };
}

function countMissing(x: Float32Array): number {
  let n = 0;
  for (const v of x) if (Number.isNaN(v)) n++;
  return n;
}

/** A column the exporter appends after the result columns: its header, and its text for a data row. */
export interface ExtraColumn {
  name: string;
  text(row: number): string;
}

/**
 * The `top_sensors` text of one wafer's readings: its TOP_SENSORS largest contributions by size, as
 * `Sensor-60 (+0.84); Sensor-104 (+0.41); Sensor-33 (−0.20)`. Needs no session, so a command-line exporter can
 * call it per row too. Only the features the explainer uses are looked at.
 */
export function topSensorsFormatter(explainer: Explainer): (readings: ArrayLike<number>) => string {
  const candidates = [...explainer.usedFeatures, ...(explainer.usesMissingCount ? [explainer.nFeatures] : [])];
  const best = new Int32Array(TOP_SENSORS);
  const size = new Float64Array(TOP_SENSORS);
  return (readings) => {
    const { phi } = explainer.explain(readings);
    size.fill(-1);
    for (const i of candidates) insertTop(best, size, i, Math.abs(phi[i] as number));
    const parts: string[] = [];
    for (let k = 0; k < TOP_SENSORS && (size[k] as number) >= SHOWN_MIN; k++) {
      const i = best[k] as number;
      parts.push(`${explainer.featureName(i)} (${signedLogOdds(phi[i] as number)})`);
    }
    return parts.join('; ');
  };
}

/** The `top_sensors` column of a loaded file: empty for a wafer with no probability (not scored). */
export function topSensorsColumn(s: Session, explainer: Explainer, name = TOP_SENSORS_COLUMN): ExtraColumn {
  const format = topSensorsFormatter(explainer);
  return { name, text: (row) => (Number.isNaN(s.probabilities[row] as number) ? '' : format(readings(s, row))) };
}

/** Keep the TOP_SENSORS largest sizes in order (ties: the earlier feature, as candidates come in order). */
function insertTop(best: Int32Array, size: Float64Array, i: number, v: number): void {
  let k = TOP_SENSORS - 1;
  if (!(v > (size[k] as number))) return;
  while (k > 0 && v > (size[k - 1] as number)) {
    best[k] = best[k - 1] as number;
    size[k] = size[k - 1] as number;
    k--;
  }
  best[k] = i;
  size[k] = v;
}
