/// <reference lib="webworker" />
/// <reference types="vite/client" />
/** The Comlink edge: the engine runs in this module worker; the UI wraps it with `wrap<EngineApi>()`. */
import { expose } from 'comlink';
import { startBlobWorker } from './blob-worker';
import { createEngine } from './engine/engine';
import { ParsePool } from './engine/pool';
import parseWorkerUrl from './parse.worker.ts?worker&url';

/** Throws where nested workers are unavailable; the pool then reports itself not ready and loads run in this thread. */
function startParseWorker(index: number): Worker {
  if (typeof Worker === 'undefined') throw new Error('no nested Worker');
  return startBlobWorker(parseWorkerUrl, import.meta.url, `parse-${index + 1}`);
}

/** One parse worker per core beyond this one, 1–2 (this thread reads, splits, copies rows and scores). */
const cores = typeof navigator !== 'undefined' && navigator.hardwareConcurrency > 0 ? navigator.hardwareConcurrency : 2;
const poolSize = Math.max(1, Math.min(2, cores));

expose(createEngine({ pool: new ParsePool(startParseWorker, poolSize) }));
