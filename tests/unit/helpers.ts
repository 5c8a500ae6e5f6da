/** Shared test helpers: the real model from public/models, files as Blobs/Files from disk. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createEngine, type Engine, type EngineOptions } from '../../workers/engine/engine';
import type { CellUpdate, DataState, LoadResult, LoadSummary, Result, ResultsSummary } from '../../workers/api';
import type { ModelJson } from '../../workers/model-json';
import type { ExplainJson } from '../../workers/engine/explain';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const path = (p: string) => `${root}${p}`;

export const modelJsonText = readFileSync(path('public/models/model.json'), 'utf8');
export const modelJson = JSON.parse(modelJsonText) as ModelJson;
export const onnxBytes = new Uint8Array(readFileSync(path('public/models/secom-xgb.onnx')));
/** The bundle's other files by role, as initFromBytes takes them. */
export const bundleFiles: Record<string, Uint8Array> = Object.fromEntries(
  Object.entries(modelJson.bundle?.files ?? {}).map(([role, entry]) => [role, new Uint8Array(readFileSync(path(`public/models/${entry.file}`)))]),
);
/** The bundle's explain.json (trees with covers for exact explanations), as bytes and parsed. */
export const explainBytes = new Uint8Array(readFileSync(path('public/models/explain.json')));
export const explainJson = JSON.parse(new TextDecoder().decode(explainBytes)) as ExplainJson;

export const SAMPLE = 'tests/fixtures/wafer/wafer_23012020_041211.csv';
export const SAMPLE_NO_LABEL = 'tests/fixtures/wafer/test2.csv';

export function fileFromDisk(rel: string, name?: string): File {
  const bytes = readFileSync(path(rel));
  return new File([bytes], name ?? rel.replace(/^.*\//, ''));
}

export function fileFromText(text: string | Uint8Array, name = 'test.csv'): File {
  return new File([text as BlobPart], name);
}

/** An engine with the real model; fetch reads from disk relative to the repo root. */
export async function readyEngine(options: EngineOptions = {}): Promise<Engine> {
  const engine = createEngine({
    fetch: async (url: string) => {
      const p = url.startsWith('file://') ? fileURLToPath(url) : path(url.replace(/^https?:\/\/[^/]+\//, ''));
      try {
        return new Response(readFileSync(p));
      } catch {
        return new Response('not found', { status: 404, statusText: 'Not Found' });
      }
    },
    ...options,
  });
  const res = await engine.initFromBytes(modelJson, onnxBytes, bundleFiles);
  if (!res.ok) throw new Error(`init failed: ${res.error.code} ${res.error.message}`);
  return engine;
}

export function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

/** The model's own threshold: what the UI starts at, and what tests count results at unless they say otherwise. */
export const THRESHOLD = modelJson.threshold.value;

export async function loadResultOk(engine: Engine, file: File): Promise<LoadResult> {
  return unwrap(await engine.load(file, THRESHOLD));
}

export async function loadOk(engine: Engine, file: File): Promise<LoadSummary> {
  return (await loadResultOk(engine, file)).summary;
}

/** The results of a data call, which must have scored rows. */
export function results(r: Result<DataState>): ResultsSummary {
  const value = unwrap(r).results;
  if (value === null) throw new Error('expected results, got none (nothing scored)');
  return value;
}

/** One cell edit through setCell, answering the update alone (for tests about something else than the results). */
export async function setCell(engine: Engine, row: number, col: number, text: string): Promise<Result<CellUpdate>> {
  const r = await engine.setCell({ row, col, text }, THRESHOLD);
  return r.ok ? { ok: true, value: r.value.update } : r;
}

export async function blobText(b: Blob): Promise<string> {
  return new TextDecoder().decode(await b.arrayBuffer());
}

/** A load at the model's threshold, answering the load's report alone. */
export async function loadSummary(engine: Engine, file: File): Promise<Result<LoadSummary>> {
  const r = await engine.load(file, THRESHOLD);
  return r.ok ? { ok: true, value: r.value.summary } : r;
}
