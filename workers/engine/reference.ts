/**
 * reference.json (docs/bundle.md): the training distribution of every sensor and the training out-of-fold
 * predictions, read into typed arrays in model feature order. The quantiles are kept as float32, the type the
 * file's readings are compared in, so a reading equal to a training value lands on the same side of every edge
 * (many SECOM sensors take only a few values).
 */
import type { BundleFile, ModelJson } from '../model-json';
import { fail } from './errors';

export const QUANTILES = 101;

export interface Reference {
  rows: number;
  /** nFeatures × QUANTILES, float32; NaN for a sensor never read in training. */
  edges: Float32Array;
  /** nFeatures × QUANTILES: the training CDF at each edge (the highest level among tied quantiles). */
  cdf: Float64Array;
  present: Float64Array;
  missingRate: Float64Array;
  std: Float64Array;
  /** Share of the booster's gain per feature (0 for the sensors the trees do not use). */
  reliance: Float64Array;
  hasReliance: boolean;
  oof: { protocol: string; y: Int8Array; p: Float64Array } | null;
  /**
   * A lookup table per sensor for binning: LUT_CELLS equal cells over [p01, p99], each holding the count of
   * edges below the cell's start, so a reading's bin is a table read and a step or two instead of a binary
   * search (twice as fast over 100k × 590 readings).
   */
  lut: Uint8Array;
  lutStart: Float64Array;
  lutScale: Float64Array;
}

export const LUT_CELLS = 512;

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** The model.json entry of a bundle file by role, if the bundle lists one; throws on a malformed entry. */
export function bundleEntry(json: ModelJson, role: string): BundleFile | null {
  const entry = json.bundle?.files?.[role];
  if (entry === undefined) return null;
  if (!isObj(entry) || typeof entry.file !== 'string' || !/^[^/\\]+$/.test(entry.file) || entry.file.includes('..')) {
    fail('model-invalid', `The model description (model.json) lists a ${role} file without a plain file name.`);
  }
  if (typeof entry.sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(entry.sha256)) fail('model-invalid', `model.json: bundle.files.${role}.sha256 is not a sha256 hex digest.`);
  return entry;
}

export function parseReference(bytes: Uint8Array, features: string[]): Reference {
  const bad = (what: string): never => fail('model-invalid', `The training reference (reference.json) is invalid: ${what}.`);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    return bad(`not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isObj(raw) || raw.format !== 1 || !isNum(raw.rows) || !isObj(raw.sensors)) return bad('expected format 1 with rows and sensors');
  const nF = features.length;
  const ref: Reference = {
    rows: raw.rows,
    edges: new Float32Array(nF * QUANTILES).fill(Number.NaN),
    cdf: new Float64Array(nF * QUANTILES),
    present: new Float64Array(nF),
    missingRate: new Float64Array(nF),
    std: new Float64Array(nF),
    reliance: new Float64Array(nF),
    hasReliance: false,
    oof: null,
    lut: new Uint8Array(nF * (LUT_CELLS + 1)),
    lutStart: new Float64Array(nF),
    lutScale: new Float64Array(nF),
  };
  features.forEach((name, f) => readSensor(ref, f, (raw.sensors as Record<string, unknown>)[name], name, bad));
  readReliance(ref, raw.reliance, features);
  ref.oof = readOof(raw.oof, bad);
  return ref;
}

function readSensor(ref: Reference, f: number, s: unknown, name: string, bad: (what: string) => never): void {
  if (!isObj(s) || !isNum(s.present) || !isNum(s.missing_rate)) bad(`${name} has no present count and missing rate`);
  const sensor = s as Record<string, unknown>;
  ref.present[f] = sensor.present as number;
  ref.missingRate[f] = sensor.missing_rate as number;
  ref.std[f] = isNum(sensor.std) ? sensor.std : Number.NaN;
  const q = sensor.quantiles;
  if (q === null) return;
  if (!Array.isArray(q) || q.length !== QUANTILES || !q.every(isNum)) bad(`${name} must have ${QUANTILES} quantiles or null`);
  const base = f * QUANTILES;
  for (let k = 0; k < QUANTILES; k++) {
    const e = Math.fround(q[k] as number);
    if (k > 0 && e < (ref.edges[base + k - 1] as number)) bad(`the quantiles of ${name} are not ascending`);
    ref.edges[base + k] = e;
  }
  buildLut(ref, f);
  // The CDF at a tied edge is the highest level among the quantiles tied with it.
  for (let k = QUANTILES - 1; k >= 0; k--) {
    const last = k < QUANTILES - 1 && ref.edges[base + k] === ref.edges[base + k + 1];
    ref.cdf[base + k] = last ? (ref.cdf[base + k + 1] as number) : k / (QUANTILES - 1);
  }
}

function buildLut(ref: Reference, f: number): void {
  const base = f * QUANTILES;
  const lo = ref.edges[base + 1] as number;
  const hi = ref.edges[base + QUANTILES - 2] as number;
  const scale = hi > lo ? LUT_CELLS / (hi - lo) : 0;
  ref.lutStart[f] = lo;
  ref.lutScale[f] = scale;
  let below = 0;
  for (let c = 0; c <= LUT_CELLS; c++) {
    const start = scale > 0 ? lo + c / scale : lo;
    while (below < QUANTILES && (ref.edges[base + below] as number) < start) below++;
    // Rounding of `start` could put an edge just below the cell's true start past it: step back to be safe.
    ref.lut[f * (LUT_CELLS + 1) + c] = Math.max(0, below - 1);
  }
}

function readReliance(ref: Reference, raw: unknown, features: string[]): void {
  if (!isObj(raw) || !isObj(raw.sensors)) return;
  const shares = raw.sensors as Record<string, unknown>;
  features.forEach((name, f) => {
    const v = shares[name];
    if (isNum(v) && v > 0) ref.reliance[f] = v;
  });
  ref.hasReliance = ref.reliance.some((v) => v > 0);
}

function readOof(raw: unknown, bad: (what: string) => never): Reference['oof'] {
  if (raw === undefined || raw === null) return null;
  if (!isObj(raw) || !Array.isArray(raw.y) || !Array.isArray(raw.p) || raw.y.length !== raw.p.length) return bad('oof must have y and p of one length');
  const y = Int8Array.from(raw.y as unknown[], (v) => (v === 1 ? 1 : v === 0 ? 0 : bad('oof.y must be 0 or 1')));
  const p = Float64Array.from(raw.p as unknown[], (v) => (isNum(v) && v >= 0 && v <= 1 ? v : bad('oof.p must be probabilities')));
  return { protocol: typeof raw.protocol === 'string' ? raw.protocol : '', y, p };
}

/** Per model feature, its 101 training quantiles (null: never read in training), for the wafer panel's percentiles. */
export function quantilesOf(ref: Reference, features: string[]): Record<string, number[] | null> {
  const out: Record<string, number[] | null> = {};
  features.forEach((name, f) => {
    const edges = Array.from(ref.edges.subarray(f * QUANTILES, (f + 1) * QUANTILES));
    out[name] = edges.some((e) => Number.isNaN(e)) ? null : edges;
  });
  return out;
}
