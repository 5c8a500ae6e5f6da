/**
 * Explanations of a loaded file's wafers: one wafer for the panel (explain()), and the `top_sensors` column of
 * the download, an extra column any exporter (the page's, the CLI's streaming core) adds per row.
 */
import type { SensorContribution, WaferExplanation } from '../api';
import type { Explainer } from './explain';
import type { ParsePool } from './pool';
import { waferName, type Session } from './session';
import { topSensorsFormatter, TOP_SENSORS_COLUMN } from './top-sensors';

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
  /**
   * For a column computed ahead, elsewhere: resolves once text(row) can answer rows [from, to); rows below
   * `from` are not asked for again.
   */
  ready?(from: number, to: number): Promise<void>;
}

/** The `top_sensors` column of a loaded file: empty for a wafer with no probability (not scored). */
export function topSensorsColumn(s: Session, explainer: Explainer, name = TOP_SENSORS_COLUMN): ExtraColumn {
  const format = topSensorsFormatter(explainer);
  return { name, text: (row) => (isScored(s, row) ? format(readings(s, row)) : '') };
}

const isScored = (s: Session, row: number) => !Number.isNaN(s.probabilities[row] as number);

/** Wafers per parse-worker job of the pooled column: 10 MB of readings at 590 sensors, ≈ 0.1 s of work. */
export const POOLED_BLOCK_ROWS = 4096;

/**
 * topSensorsColumn computed ahead in the parse workers, a block of wafers per job, while the engine writes the
 * download: the explanations cost about as much CPU as the writing, and run on the cores it leaves free. Up to
 * `ahead` blocks are in flight beyond the one being written; a block a worker fails is computed here.
 */
export function pooledTopSensorsColumn(s: Session, explainer: Explainer, pool: ParsePool, { blockRows = POOLED_BLOCK_ROWS, ahead = 2 * pool.size } = {}): ExtraColumn {
  const local = topSensorsColumn(s, explainer);
  const blocks = Math.ceil(s.rows / blockRows);
  const jobs: (Promise<string[]> | undefined)[] = [];
  const done = new Map<number, string[]>();
  const start = (b: number) => {
    const from = b * blockRows;
    const to = Math.min(s.rows, from + blockRows);
    // slice(), not subarray(): the copy's own buffer is transferred, not the whole matrix.
    const readings = s.matrix.slice(from * s.nFeatures, to * s.nFeatures);
    jobs[b] = pool.topSensors(explainer.json, s.nFeatures, readings, to - from).catch(() => Array.from({ length: to - from }, (_, r) => local.text(from + r)));
  };
  return {
    name: local.name,
    async ready(from, to) {
      const first = Math.floor(from / blockRows);
      const needed = Math.ceil(Math.min(to, s.rows) / blockRows);
      for (let b = first; b < Math.min(blocks, needed + ahead); b++) if (jobs[b] === undefined) start(b);
      for (let b = first; b < needed; b++) if (!done.has(b)) done.set(b, await (jobs[b] as Promise<string[]>));
      for (const b of done.keys()) if (b < first) done.delete(b);
      for (let b = 0; b < first; b++) jobs[b] = undefined;
    },
    text(row) {
      const texts = done.get(Math.floor(row / blockRows));
      if (!texts) return local.text(row);
      return isScored(s, row) ? (texts[row % blockRows] as string) : '';
    },
  };
}
