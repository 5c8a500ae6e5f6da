/**
 * A model bundle from a folder (docs/bundle.md): model.json, the ONNX graph and the files `bundle.files` lists,
 * each checked against its sha256 before the model is used. A bundle that fails a check is refused with a message
 * naming the file; nothing is scored with it.
 */
import { Explainer } from '../workers/engine/explain';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Model, validateModelJson } from '../workers/engine/model';
import type { ModelJson } from '../workers/model-json';

/** The bundle the tool ships with: the page's own (public/models, one folder up from cli/ and from cli-dist/). */
export const SHIPPED_BUNDLE = fileURLToPath(new URL('../public/models/', import.meta.url));

/** A bundle that cannot be used: the message names the folder and the file. */
export class BundleError extends Error {
  override readonly name = 'BundleError';
}

export interface LoadedBundle {
  dir: string;
  json: ModelJson;
  model: Model;
  onnxSha256: string;
  /** explain.json as an Explainer, when the bundle lists one. */
  explainer: Explainer | null;
}

interface ListedFile {
  file: string;
  sha256: string;
}

async function readBundleFile(dir: string, file: string, role: string): Promise<Buffer> {
  if (file === '' || file.includes('/') || file.includes('\\') || file === '..' || file === '.') {
    throw new BundleError(`The model bundle in ${dir} is invalid: its ${role} file name "${file}" is not a plain file name in the bundle's folder.`);
  }
  try {
    return await readFile(join(dir, file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'is missing' : `cannot be read (${code ?? String(e)})`;
    throw new BundleError(`The model bundle in ${dir} is incomplete: ${role} file ${file} ${why}.`);
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function checkHash(dir: string, file: string, bytes: Uint8Array, expected: string): void {
  const actual = sha256(bytes);
  if (actual !== expected.toLowerCase()) {
    throw new BundleError(`The model bundle in ${dir} is inconsistent: the sha256 of ${file} is ${actual}, model.json expects ${expected}. The file was changed or replaced after the bundle was written; use the bundle as the training wrote it.`);
  }
}

/** The files of a format-2 bundle's `bundle.files` (none for a format-1 bundle, which lists only the ONNX graph). */
function listedFiles(dir: string, raw: Record<string, unknown>): [string, ListedFile][] {
  const bundle = raw['bundle'];
  if (bundle === undefined) return [];
  const files = typeof bundle === 'object' && bundle !== null ? (bundle as Record<string, unknown>)['files'] : undefined;
  if (typeof files !== 'object' || files === null) throw new BundleError(`The model bundle in ${dir} is invalid: model.json's "bundle" has no "files" object.`);
  return Object.entries(files as Record<string, unknown>).map(([role, entry]) => {
    const e = entry as Partial<ListedFile> | null;
    if (!e || typeof e.file !== 'string' || typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(e.sha256)) {
      throw new BundleError(`The model bundle in ${dir} is invalid: model.json's bundle.files.${role} needs a "file" and a sha256 hex "sha256".`);
    }
    return [role, { file: e.file, sha256: e.sha256 }];
  });
}

/** Read, check and load the bundle in `dir`. Throws BundleError (or the engine's 'model-invalid' failure) when it cannot be used. */
export async function loadBundle(dir: string): Promise<LoadedBundle> {
  const jsonBytes = await readBundleFile(dir, 'model.json', 'the manifest');
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(jsonBytes));
  } catch (e) {
    throw new BundleError(`The model bundle in ${dir} is invalid: model.json is not JSON (${e instanceof Error ? e.message : String(e)}).`);
  }
  const json = validateModelJson(raw);
  const onnx = await readBundleFile(dir, json.onnx.file, 'the ONNX model');
  checkHash(dir, json.onnx.file, onnx, json.onnx.sha256);
  let explainer: Explainer | null = null;
  for (const [role, f] of listedFiles(dir, raw as Record<string, unknown>)) {
    const bytes = await readBundleFile(dir, f.file, `the ${role}`);
    checkHash(dir, f.file, bytes, f.sha256);
    if (role === 'explain') explainer = Explainer.fromJson(JSON.parse(new TextDecoder().decode(bytes)) as unknown, json.features);
  }
  const model = await Model.create(json, new Uint8Array(onnx.buffer, onnx.byteOffset, onnx.byteLength));
  return { dir, json, model, onnxSha256: json.onnx.sha256, explainer };
}
