/**
 * The engine's parse pool (workers/engine/pool.ts) on Node worker threads: the same protocol and conversion code
 * as the page's parse workers, so the tool converts slices on the other cores while this thread splits, scores
 * and writes.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ParsePool, type WorkerLike } from '../workers/engine/pool';

/** The built worker script, next to the built tool (cli-dist/). */
const WORKER_SCRIPT = new URL('./parse-worker.mjs', import.meta.url);

/**
 * Heap limits of a parse worker. A job is one 1 MB slice (≈ 5 MB of field strings while it is converted), so these
 * leave a wide margin; without them V8 lets each worker's heap grow to hundreds of MB before collecting, and the
 * tool would not stay within its memory budget (README: ≤ 300 MB for any file size).
 */
const WORKER_HEAP = { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 64 };

/** A worker thread seen through the Web Worker interface the pool speaks. */
function workerLike(worker: Worker): WorkerLike {
  return {
    postMessage: (message, transfer) => worker.postMessage(message, transfer as ArrayBuffer[]),
    addEventListener: (type: 'message' | 'error' | 'messageerror', listener: (ev: MessageEvent & ErrorEvent) => void) => {
      if (type === 'message') worker.on('message', (data: unknown) => listener({ data } as MessageEvent & ErrorEvent));
      else if (type === 'error') {
        worker.on('error', (e: Error) => listener({ message: e.message } as MessageEvent & ErrorEvent));
        worker.on('exit', (code) => listener({ message: `exited with code ${code}` } as MessageEvent & ErrorEvent));
      } else worker.on('messageerror', (e: Error) => listener({ message: e.message } as MessageEvent & ErrorEvent));
    },
    terminate: () => void worker.terminate(),
  };
}

/** Workers for a machine: one per core, at most two (as the page: beyond that, this thread's scoring and writing limit). */
export function poolSize(max = 2): number {
  return Math.max(1, Math.min(max, availableParallelism()));
}

export function nodeParsePool(size = poolSize()): ParsePool {
  // The caller terminates the pool when done: a running worker keeps the process alive.
  return new ParsePool(() => workerLike(new Worker(WORKER_SCRIPT, { resourceLimits: WORKER_HEAP })), size);
}
