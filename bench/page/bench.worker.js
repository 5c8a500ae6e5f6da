// Benchmark-only worker. Reuses the engine's modules: the byte-level splitter (splitRecords), the engine's
// PapaParse call (parseBatchRecords → parseText) and Model.score, without validation / matrix / UI.
import { expose } from 'comlink';
import Papa from 'papaparse';
import { DEFAULT_SLICE_SIZE, SNIFF_BYTES, papaConfig, parseBatchRecords, readBytes, sniff, splitRecords, yieldToEventLoop } from '../../workers/engine/csv';
import { Model, validateModelJson, SCORE_BATCH_ROWS } from '../../workers/engine/model';
import { syntheticMatrix } from '../synthetic.mjs';

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Stream the file exactly as the engine's loader does (same splitter, slices, per-slice yield) and parse it.
 * mode: 'engine' = the engine's own parseBatchRecords (fastMode when the slice has no quote);
 *       'papa-fast' / 'papa-slow' = Papa.parse with fastMode forced on / off;
 *       'split' = splitter + UTF-8 decode only (no Papa), to show what Papa itself costs.
 * @param {Blob} file
 * @param {{ sliceSize?: number, mode?: string }} opts
 */
async function parseOnly(file, opts = {}) {
  const sliceSize = opts.sliceSize ?? DEFAULT_SLICE_SIZE;
  const mode = opts.mode ?? 'engine';
  const t0 = performance.now();
  const head = await readBytes(file, 0, Math.min(file.size, SNIFF_BYTES));
  const sn = sniff(head, file.size);
  let records = 0;
  let fields = 0;
  let papaMs = 0;
  for await (const batch of splitRecords(file, { delimiter: sn.delimiter, lineEnding: sn.lineEnding, start: sn.dataStart, sliceSize })) {
    const k = batch.starts.length;
    if (k > 0) {
      const p0 = performance.now();
      if (mode === 'engine') {
        const rows = parseBatchRecords(batch, 0, k, sn.delimiter, sn.lineEnding);
        fields += rows[0]?.length ?? 0;
      } else {
        const text = decoder.decode(batch.bytes.subarray(batch.starts[0], batch.contentEnds[k - 1]));
        if (mode !== 'split') {
          const res = Papa.parse(text, papaConfig(sn.delimiter, sn.lineEnding, mode === 'papa-fast'));
          if (res.data.length !== k) throw new Error(`record count mismatch: ${res.data.length} vs ${k}`);
          fields += res.data[0]?.length ?? 0;
        }
      }
      papaMs += performance.now() - p0;
      records += k;
    }
    await yieldToEventLoop();
  }
  const ms = performance.now() - t0;
  return { ms, bytes: file.size, records, mbPerS: file.size / 1e6 / (ms / 1000), papaMs, fieldsOfFirstRows: fields };
}

/** Inference alone: Model.score over `rows` synthetic rows (batches of SCORE_BATCH_ROWS), plus one-row calls. */
async function inference(modelDir, opts) {
  const rows = opts.rows ?? 20000;
  const json = validateModelJson(await (await fetch(new URL('model.json', modelDir))).json());
  const onnx = new Uint8Array(await (await fetch(new URL(json.onnx.file, modelDir))).arrayBuffer());
  const c0 = performance.now();
  const model = await Model.create(json, onnx);
  const createMs = performance.now() - c0;
  const matrix = syntheticMatrix(json, rows);
  await model.score(matrix.subarray(0, json.features.length * 100), 100); // warm-up
  const t0 = performance.now();
  await model.score(matrix, rows);
  const ms = performance.now() - t0;
  const singles = [];
  for (let i = 0; i < 20; i++) {
    const s0 = performance.now();
    await model.score(matrix.subarray(i * json.features.length, (i + 1) * json.features.length), 1);
    singles.push(performance.now() - s0);
  }
  singles.sort((a, b) => a - b);
  return { rows, batch: SCORE_BATCH_ROWS, ms, rowsPerS: rows / (ms / 1000), createMs, oneRowMs: singles[10] };
}

expose({ parseOnly, inference });
