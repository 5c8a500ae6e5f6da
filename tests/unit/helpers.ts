/** Shared test helpers: the real model from public/models, files as Blobs/Files from disk. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createEngine, type Engine, type EngineOptions } from '../../workers/engine/engine';
import type { LoadSummary, Result } from '../../workers/api';
import type { ModelJson } from '../../workers/model-json';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const path = (p: string) => `${root}${p}`;

export const modelJsonText = readFileSync(path('public/models/model.json'), 'utf8');
export const modelJson = JSON.parse(modelJsonText) as ModelJson;
export const onnxBytes = new Uint8Array(readFileSync(path('public/models/secom-xgb.onnx')));

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
  const res = await engine.initFromBytes(modelJson, onnxBytes);
  if (!res.ok) throw new Error(`init failed: ${res.error.code} ${res.error.message}`);
  return engine;
}

export function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

export async function loadOk(engine: Engine, file: File): Promise<LoadSummary> {
  return unwrap(await engine.load(file));
}

export async function blobText(b: Blob): Promise<string> {
  return new TextDecoder().decode(await b.arrayBuffer());
}
