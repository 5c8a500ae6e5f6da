/// <reference lib="webworker" />
/// <reference types="vite/client" />
/** The Comlink edge: the engine runs in this module worker; the UI wraps it with `wrap<EngineApi>()`. */
import { expose } from 'comlink';
import { createEngine } from './engine/engine';
import { ParsePool } from './engine/pool';
import parseWorkerUrl from './parse.worker.ts?worker&url';

/**
 * Start parse worker `index` like the page starts this worker: from a blob: module that imports the bundled
 * script, so the page's Content-Security-Policy covers it (a worker loaded by URL takes its policy from the
 * script's HTTP headers, which a static host does not send). Throws where nested workers are unavailable; the
 * pool then reports itself not ready and loads run in this thread.
 */
function startParseWorker(index: number): Worker {
  if (typeof Worker === 'undefined') throw new Error('no nested Worker');
  const moduleUrl = new URL(parseWorkerUrl, import.meta.url).href;
  const source = new Blob([`import ${JSON.stringify(moduleUrl)};\n`], { type: 'text/javascript' });
  const blobUrl = URL.createObjectURL(source);
  const worker = new Worker(blobUrl, { type: 'module', name: `parse-${index + 1}` });
  setTimeout(() => URL.revokeObjectURL(blobUrl), 60_000);
  return worker;
}

/** One parse worker per core beyond this one, 1–2 (this thread reads, splits, copies rows and scores). */
const cores = typeof navigator !== 'undefined' && navigator.hardwareConcurrency > 0 ? navigator.hardwareConcurrency : 2;
const poolSize = Math.max(1, Math.min(2, cores));

expose(createEngine({ pool: new ParsePool(startParseWorker, poolSize) }));
