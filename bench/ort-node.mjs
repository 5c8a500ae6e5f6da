// Reference: the same ONNX model in onnxruntime-node (native CPU, 1 intra-op thread and default threads), same
// synthetic matrix and 5k-row batches as the worker's inference benchmark. onnxruntime-node is installed on demand
// into bench/.ort-node (never into package.json): `npm install --prefix bench/.ort-node --no-save --ignore-scripts`.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { syntheticMatrix } from './synthetic.mjs';

const prefix = new URL('./.ort-node/', import.meta.url).pathname;
const model = JSON.parse(readFileSync(new URL('../public/models/model.json', import.meta.url), 'utf8'));

export function ensureOrtNode() {
  if (existsSync(`${prefix}node_modules/onnxruntime-node/package.json`)) return true;
  mkdirSync(prefix, { recursive: true });
  if (!existsSync(`${prefix}package.json`)) writeFileSync(`${prefix}package.json`, '{"private":true}\n');
  try {
    execFileSync('npm', ['install', '--prefix', prefix, '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', 'onnxruntime-node@1.30.0'], { stdio: 'inherit' });
    return true;
  } catch (e) {
    console.warn(`onnxruntime-node could not be installed (${e}); skipping the native reference.`);
    return false;
  }
}

/** @param {{ rows?: number, threads?: number }} opts  @returns {Promise<{ rows: number, ms: number, rowsPerS: number, threads: number } | null>} */
export async function ortNodeInference(opts = {}) {
  if (!ensureOrtNode()) return null;
  const ort = createRequire(prefix)('onnxruntime-node');
  const rows = opts.rows ?? 20000;
  const threads = opts.threads ?? 1;
  const nF = model.features.length;
  const bytes = readFileSync(new URL(`../public/models/${model.onnx.file}`, import.meta.url));
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const matrix = syntheticMatrix(model, rows);
  const probName = model.onnx.outputs.probability;
  const run = async (from, n) => {
    const input = new ort.Tensor('float32', matrix.subarray(from * nF, (from + n) * nF), [n, nF]);
    await session.run({ [model.onnx.input]: input }, [probName]);
  };
  await run(0, 100);
  const t0 = performance.now();
  for (let s = 0; s < rows; s += 5000) await run(s, Math.min(5000, rows - s));
  const ms = performance.now() - t0;
  return { rows, ms, rowsPerS: rows / (ms / 1000), threads };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await ortNodeInference({ threads: 1 }));
  console.log(await ortNodeInference({ threads: 2 }));
}
