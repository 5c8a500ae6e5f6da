/** model.json validation, ONNX sha256 check, onnxruntime-web (WASM) session and batched scoring. */
import * as ort from 'onnxruntime-web/wasm';
import type { ModelJson } from '../model-json';
import { EngineFailure, fail } from './errors';
import { rangeBounds, type RangeBounds } from './drift';
import { treeFeatureIndices } from './onnx-trees';
import type { Reference } from './reference';

export const SCORE_BATCH_ROWS = 5000;
/** Rows scored once after the session is created (Model.warmUp). */
export const MODEL_WARM_UP_ROWS = 1000;

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
function isStrArray(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((v) => typeof v === 'string');
}

/** The top-level keys every consumer reads (the model card shows them all); aliases, id_column_names and sensors may be absent. */
export const REQUIRED_MODEL_KEYS = ['name', 'version', 'created', 'description', 'onnx', 'features', 'label', 'threshold', 'metrics', 'recipe', 'training', 'limitations'] as const;

/** “"metrics"”, “"metrics" and "recipe"”, “"a", "b" and "c"”. */
function quotedKeys(keys: string[]): string {
  const q = keys.map((k) => `"${k}"`);
  return q.length > 1 ? `${q.slice(0, -1).join(', ')} and ${q.at(-1) ?? ''}` : (q[0] ?? '');
}

/**
 * Check the fields the engine relies on; throws 'model-invalid' naming every missing top-level key, else the first
 * problem found.
 */
export function validateModelJson(x: unknown): ModelJson {
  const bad = (what: string): never => fail('model-invalid', `The model description (model.json) is invalid: ${what}.`);
  if (!isObj(x)) bad('not a JSON object');
  const m = x as Record<string, unknown>;
  const missing = REQUIRED_MODEL_KEYS.filter((k) => !(k in m) || m[k] === null);
  if (missing.length > 0) bad(`it has no ${quotedKeys(missing)} (${missing.length === 1 ? 'a key' : 'keys'} every model.json must have)`);
  const onnx = m['onnx'];
  if (!isObj(onnx)) return bad('missing "onnx"');
  if (typeof onnx['file'] !== 'string' || onnx['file'] === '') bad('missing onnx.file');
  if (typeof onnx['sha256'] !== 'string' || !/^[0-9a-f]{64}$/i.test(onnx['sha256'])) bad('onnx.sha256 is not a sha256 hex digest');
  if (typeof onnx['input'] !== 'string') bad('missing onnx.input');
  const outputs = onnx['outputs'];
  if (!isObj(outputs) || typeof outputs['probability'] !== 'string') bad('missing onnx.outputs.probability');
  const features = m['features'];
  if (!isStrArray(features) || features.length === 0) bad('"features" must be a non-empty list of names');
  if (new Set(features as string[]).size !== (features as string[]).length) bad('"features" has duplicate names');
  const aliases = m['aliases'] ?? {};
  if (!isObj(aliases) || !Object.values(aliases).every(isStrArray)) bad('"aliases" must map feature names to lists of names');
  if (!isStrArray(m['id_column_names'] ?? [])) bad('"id_column_names" must be a list of names');
  const label = m['label'];
  if (!isObj(label) || !isStrArray(label['column_names']) || !isStrArray(label['fail_values']) || !isStrArray(label['pass_values'])) {
    bad('"label" must have column_names, fail_values and pass_values');
  }
  const threshold = m['threshold'];
  if (!isObj(threshold) || typeof threshold['value'] !== 'number' || !(threshold['value'] >= 0 && threshold['value'] <= 1)) {
    bad('"threshold.value" must be a number in [0, 1]');
  }
  const out = x as unknown as ModelJson;
  return { ...out, aliases: aliases as Record<string, string[]>, id_column_names: (m['id_column_names'] as string[] | undefined) ?? [] };
}

let ortConfigured = false;
function configureOrt(): void {
  if (ortConfigured) return;
  ortConfigured = true;
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  if (!isolated) ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
}

/** What a failed check of the model file tells the user to do, by where the model came from. */
export interface ModelOrigin {
  /** Said after a sha256 mismatch. */
  mismatchAdvice: string;
}

export const SHIPPED_ORIGIN: ModelOrigin = {
  mismatchAdvice: 'The deployment is inconsistent; reload the page, and if it persists, report it.',
};

/** The sha256 of a file against the one model.json lists; 'model-hash-mismatch' naming the file otherwise ("The model file x.onnx"). */
export async function checkSha256(what: string, bytes: Uint8Array, expected: string, advice: string): Promise<void> {
  const actual = await sha256Hex(bytes);
  if (actual !== expected.toLowerCase()) {
    fail('model-hash-mismatch', `${what} does not match its description: sha256 is ${actual}, model.json expects ${expected.toLowerCase()}. ${advice}`);
  }
}

/** The ONNX input must take features.length columns: a graph of another width would score the wrong sensors. */
function checkInputWidth(session: ort.InferenceSession, json: ModelJson): void {
  const meta = session.inputMetadata.find((m) => m.name === json.onnx.input);
  if (!meta || !meta.isTensor) return;
  const width = meta.shape[1];
  if (meta.shape.length !== 2 || (typeof width === 'number' && width !== json.features.length)) {
    fail(
      'model-invalid',
      `The model file ${json.onnx.file} takes input "${json.onnx.input}" of shape [${meta.shape.join(', ')}], but model.json lists ${json.features.length} features: the ONNX graph needs [N, ${json.features.length}].`,
    );
  }
}

/** The sensors the graph reads (onnx-trees.ts), said with the model file's name when it is not a readable graph. */
function usedFeaturesOf(json: ModelJson, onnxBytes: Uint8Array): number[] {
  try {
    return treeFeatureIndices(onnxBytes, json.features.length);
  } catch (e) {
    if (!(e instanceof EngineFailure) || e.code !== 'model-invalid') throw e;
    return fail('model-invalid', `The model file ${json.onnx.file} ${e.message.replace(/^The model file /, '')}`);
  }
}

export class Model {
  private session: ort.InferenceSession | null = null;
  /**
   * Settles when the onnxruntime session is created, checked and warmed up; rejects with the reason it could not
   * be. Until then the model already describes itself (features, sensors the trees use), so a file can be read
   * while the 14 MB onnxruntime wasm still arrives and compiles; scoring waits for it.
   */
  readonly ready: Promise<void>;

  private constructor(
    readonly json: ModelJson,
    onnxBytes: Uint8Array,
    /** Feature indices (ascending) the trees split on: the sensors coverage is counted over. */
    readonly usedFeatures: number[],
    /** The training distribution (reference.json), when the bundle has one. */
    readonly reference: Reference | null = null,
  ) {
    this.bounds = rangeBounds(reference, json.features.length, (f) => json.sensors?.[json.features[f] as string]);
    this.ready = this.startSession(onnxBytes);
    // A failure is reported through `ready` to whoever awaits it; unawaited it must not count as unhandled.
    this.ready.catch(() => undefined);
  }

  /** The training 1 %–99 % range per feature: the per-wafer out-of-range count. */
  readonly bounds: RangeBounds;

  get nFeatures(): number {
    return this.json.features.length;
  }

  /** The session exists and is warm: scoring runs at once. */
  get canScore(): boolean {
    return this.session !== null;
  }

  /** Verify the ONNX bytes against model.json's sha256 and start creating the session (see `ready`). */
  static async describe(json: ModelJson, onnxBytes: Uint8Array, origin: ModelOrigin = SHIPPED_ORIGIN, reference: Reference | null = null): Promise<Model> {
    await checkSha256(`The model file ${json.onnx.file}`, onnxBytes, json.onnx.sha256, origin.mismatchAdvice);
    return new Model(json, onnxBytes, usedFeaturesOf(json, onnxBytes), reference);
  }

  /** describe() and wait until the session is ready. */
  static async create(json: ModelJson, onnxBytes: Uint8Array, origin: ModelOrigin = SHIPPED_ORIGIN, reference: Reference | null = null): Promise<Model> {
    const model = await Model.describe(json, onnxBytes, origin, reference);
    await model.ready;
    return model;
  }

  private async startSession(onnxBytes: Uint8Array): Promise<void> {
    const json = this.json;
    configureOrt();
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(onnxBytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    } catch (e) {
      return fail('model-invalid', `The model file ${json.onnx.file} could not be loaded by onnxruntime: ${e instanceof Error ? e.message : String(e)}`);
    }
    checkInputWidth(session, json);
    if (!session.inputNames.includes(json.onnx.input)) {
      fail('model-invalid', `The model has no input named "${json.onnx.input}" (it has ${session.inputNames.join(', ')}).`);
    }
    if (!session.outputNames.includes(this.json.onnx.outputs.probability)) {
      fail('model-invalid', `The model has no output named "${this.json.onnx.outputs.probability}" (it has ${session.outputNames.join(', ')}).`);
    }
    await this.warmUp(session);
    this.session = session;
  }

  /**
   * Score a few synthetic rows (each sensor at the middle of its training range) once after creating the session,
   * so the first rows of a file do not pay for onnxruntime's first-run setup and the WASM code's warm-up.
   */
  private async warmUp(session: ort.InferenceSession, rows = MODEL_WARM_UP_ROWS): Promise<void> {
    const nF = this.nFeatures;
    const row = new Float32Array(nF);
    this.json.features.forEach((f, i) => {
      const s = this.json.sensors?.[f];
      row[i] = s && s.p01 !== null && s.p99 !== null ? (s.p01 + s.p99) / 2 : Number.NaN;
    });
    const m = new Float32Array(rows * nF);
    for (let r = 0; r < rows; r++) m.set(row, r * nF);
    await this.run(session, m, rows);
  }

  /**
   * P(fail) for `rows` rows of a row-major float32 matrix (NaN = missing), once the session is ready. Runs in
   * batches of SCORE_BATCH_ROWS; `between` is awaited between batches (cancellation, progress).
   */
  async score(matrix: Float32Array, rows: number, between?: (done: number) => Promise<void> | void): Promise<Float32Array> {
    await this.ready;
    return this.run(this.session as ort.InferenceSession, matrix, rows, between);
  }

  private async run(session: ort.InferenceSession, matrix: Float32Array, rows: number, between?: (done: number) => Promise<void> | void): Promise<Float32Array> {
    const nF = this.nFeatures;
    if (matrix.length < rows * nF) fail('internal', 'score(): matrix smaller than rows × features');
    const out = new Float32Array(rows);
    const probName = this.json.onnx.outputs.probability;
    for (let start = 0; start < rows; start += SCORE_BATCH_ROWS) {
      const n = Math.min(SCORE_BATCH_ROWS, rows - start);
      const input = new ort.Tensor('float32', matrix.subarray(start * nF, (start + n) * nF), [n, nF]);
      const result = await session.run({ [this.json.onnx.input]: input }, [probName]);
      const prob = result[probName];
      if (!prob || !(prob.data instanceof Float32Array)) fail('model-invalid', `The model output "${probName}" is not a float32 tensor.`);
      const data = prob.data as Float32Array;
      const width = prob.dims[1] ?? 1;
      if (prob.dims[0] !== n) fail('model-invalid', `The model output "${probName}" has ${prob.dims[0]} rows for ${n} inputs.`);
      for (let i = 0; i < n; i++) out[start + i] = width >= 2 ? (data[i * width + 1] as number) : (data[i] as number);
      input.dispose();
      prob.dispose();
      if (between) await between(start + n);
    }
    return out;
  }
}
