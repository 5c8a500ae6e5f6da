/**
 * The `top_sensors` text of one wafer's readings, e.g. `Sensor-60 (+0.84); Sensor-104 (+0.41); Sensor-33 (−0.20)`.
 * Needs no session and nothing of the load, so the page's engine, its parse workers and the command-line tool
 * all write it with this one function.
 */
import { signedLogOdds } from '../format';
import type { Explainer } from './explain';

/** Contributions below this (log-odds) are left out of the top_sensors text: they would read "+0.00". */
const SHOWN_MIN = 0.005;
export const TOP_SENSORS = 3;
export const TOP_SENSORS_COLUMN = 'top_sensors';

/**
 * A formatter of one wafer's readings (nFeatures float32 values, NaN = missing): its TOP_SENSORS largest
 * contributions by size. Only the features the explainer uses are looked at.
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
