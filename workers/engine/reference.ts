/**
 * The part of the bundle's reference.json (docs/bundle.md) explanations use: per sensor, 101 quantiles of its
 * present training readings, to place a wafer's reading as a percentile.
 */
import { fail } from './errors';

export const REFERENCE_QUANTILES = 101;

/** Per model feature: its 101 quantiles, or null when the sensor never had a reading in training. */
export function quantilesFromReference(x: unknown, features: string[]): Record<string, number[] | null> {
  const bad = (what: string): never => fail('model-invalid', `The reference file (reference.json) is invalid: ${what}.`);
  if (typeof x !== 'object' || x === null) return bad('not a JSON object');
  const sensors = (x as { sensors?: unknown }).sensors;
  if (typeof sensors !== 'object' || sensors === null) return bad('no "sensors"');
  const out: Record<string, number[] | null> = {};
  for (const f of features) {
    const q = (sensors as Record<string, { quantiles?: unknown } | undefined>)[f]?.quantiles;
    if (q === null || q === undefined) out[f] = null;
    else if (Array.isArray(q) && q.length === REFERENCE_QUANTILES && q.every((v) => typeof v === 'number')) out[f] = q as number[];
    else bad(`${f} must have ${REFERENCE_QUANTILES} quantiles or null`);
  }
  return out;
}
