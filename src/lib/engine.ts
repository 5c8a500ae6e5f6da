/**
 * Thin bridge to the engine Web Worker (Comlink). It owns the Worker object and turns a dead worker into a
 * plain `Result` error, so no call from the UI can hang forever after the worker crashes.
 */
import { wrap, proxy, releaseProxy, type Remote } from 'comlink';
import type { BatchInput, CellEdit, EngineApi, ExportOptions, LoadChoices, ModelInfo, ModelUrls, PredictOptions, Progress, ReloadRequest, Result, WindowRequest } from '../../workers/api';
import { startBlobWorker } from '../../workers/blob-worker';
import engineWorkerUrl from '../../workers/engine.worker.ts?worker&url';
import type { Bridge } from './app.svelte';

/** Thrown-away result used when the worker died before answering. */
function workerDiedResult<T>(detail: string): Result<T> {
  return {
    ok: false,
    error: {
      code: 'internal',
      message: `The engine stopped unexpectedly${detail ? ` (${detail})` : ''}. Your file is still here: choose “Restart engine” to reload it.`,
    },
  };
}

/**
 * Heartbeat: a worker that closed itself or hangs sends no 'error' event, so once the model is loaded the bridge
 * pings it every HEARTBEAT_INTERVAL_MS; no answer within HEARTBEAT_TIMEOUT_MS counts as a dead worker. The engine
 * yields between slices of every long operation, so a working engine answers well within that.
 */
export const HEARTBEAT_INTERVAL_MS = 2_000;
export const HEARTBEAT_TIMEOUT_MS = 10_000;

export class EngineBridge implements Bridge {
  private worker: Worker;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private pingSentAt: number | null = null;
  private lastTick = 0;
  private remote: Remote<EngineApi>;
  private deathDetail: string | null = null;
  /** Resolvers of calls in flight, so a worker death can settle them all. */
  private pending = new Set<(detail: string) => void>();

  constructor(private readonly onDeath: (detail: string) => void) {
    this.worker = startBlobWorker(engineWorkerUrl, document.baseURI, 'engine');
    this.remote = wrap<EngineApi>(this.worker);
    this.worker.addEventListener('error', (event) => this.die(event.message || 'worker error'));
    this.worker.addEventListener('messageerror', () => this.die('a message could not be read'));
  }

  get dead(): boolean {
    return this.deathDetail !== null;
  }

  private die(detail: string): void {
    if (this.deathDetail !== null) return;
    this.deathDetail = detail;
    this.stopHeartbeat();
    for (const settle of this.pending) settle(detail);
    this.pending.clear();
    this.onDeath(detail);
  }

  /** Run one engine call; resolves with an error Result instead of hanging if the worker dies meanwhile. */
  private call<T>(run: (api: Remote<EngineApi>) => Promise<Result<T>>): Promise<Result<T>> {
    if (this.deathDetail !== null) return Promise.resolve(workerDiedResult<T>(this.deathDetail));
    return new Promise<Result<T>>((resolve) => {
      const settleOnDeath = (detail: string) => resolve(workerDiedResult<T>(detail));
      this.pending.add(settleOnDeath);
      run(this.remote)
        .then(resolve, (err: unknown) =>
          resolve({ ok: false, error: { code: 'internal', message: `The engine failed: ${String(err)}` } }),
        )
        .finally(() => this.pending.delete(settleOnDeath));
    });
  }

  init(urls: ModelUrls, onModel?: (info: ModelInfo) => void) {
    return this.call((api) => api.init(urls, onModel && proxy(onModel))).then((result) => {
      if (result.ok) this.startHeartbeat();
      return result;
    });
  }

  private startHeartbeat(): void {
    if (this.heartbeat !== null || this.deathDetail !== null) return;
    this.lastTick = performance.now();
    this.heartbeat = setInterval(() => {
      const now = performance.now();
      const late = now - this.lastTick > 2 * HEARTBEAT_INTERVAL_MS;
      this.lastTick = now;
      // This tick itself came late (a busy main thread, a throttled background tab): the answer may be queued
      // behind it, so give it another interval rather than declaring the worker dead.
      if (late) return;
      if (this.pingSentAt !== null) {
        if (now - this.pingSentAt > HEARTBEAT_TIMEOUT_MS) {
          this.die(`it has not answered for ${HEARTBEAT_TIMEOUT_MS / 1000} seconds; it may have run out of memory`);
        }
        return;
      }
      this.pingSentAt = performance.now();
      this.remote.ping().then(
        () => {
          this.pingSentAt = null;
        },
        () => undefined,
      );
    }, HEARTBEAT_INTERVAL_MS);
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
  /** The bundle's Files and the open File go as handles: structured clone shares their bytes, the worker reads them. */
  useBundle(files: File[], reload: ReloadRequest | null, onProgress: (p: Progress) => void) {
    return this.call((api) => api.useBundle(files, reload, proxy(onProgress))).then((result) => {
      // When the shipped model failed to load, the heartbeat starts with the first model that did.
      if (result.ok) this.startHeartbeat();
      return result;
    });
  }
  useShippedModel(reload: ReloadRequest | null, onProgress: (p: Progress) => void) {
    return this.call((api) => api.useShippedModel(reload, proxy(onProgress)));
  }
  load(file: File, threshold: number, onProgress: (p: Progress) => void, choices: LoadChoices = {}) {
    return this.call((api) => api.load(file, threshold, proxy(onProgress), choices));
  }
  predict(options: PredictOptions, onProgress: (p: Progress) => void) {
    return this.call((api) => api.predict(options, proxy(onProgress)));
  }
  summarize(threshold: number) {
    return this.call((api) => api.summarize(threshold));
  }
  window(request: WindowRequest) {
    return this.call((api) => api.window(request));
  }
  setCell(edit: CellEdit, threshold: number) {
    return this.call((api) => api.setCell(edit, threshold));
  }
  setCells(edits: CellEdit[], threshold: number) {
    return this.call((api) => api.setCells(edits, threshold));
  }
  scoreLowCoverage(include: boolean, threshold: number) {
    return this.call((api) => api.scoreLowCoverage(include, threshold));
  }
  exportCsv(options: ExportOptions, onProgress: (p: Progress) => void) {
    return this.call((api) => api.exportCsv(options, proxy(onProgress)));
  }
  loadBatch(inputs: BatchInput[], threshold: number, onProgress: (p: Progress) => void, choices: LoadChoices = {}) {
    return this.call((api) => api.loadBatch(inputs, threshold, proxy(onProgress), choices));
  }
  batchResults(threshold: number) {
    return this.call((api) => api.batchResults(threshold));
  }
  exportZip(options: ExportOptions, onProgress: (p: Progress) => void) {
    return this.call((api) => api.exportZip(options, proxy(onProgress)));
  }
  drift() {
    return this.call((api) => api.drift());
  }
  driftDistribution(sensor: string) {
    return this.call((api) => api.driftDistribution(sensor));
  }
  curves() {
    return this.call((api) => api.curves());
  }
  explain(row: number) {
    return this.call((api) => api.explain(row));
  }
  async cancel(): Promise<void> {
    if (this.deathDetail !== null) return;
    await this.remote.cancel().catch(() => undefined);
  }

  terminate(): void {
    this.stopHeartbeat();
    this.deathDetail ??= 'stopped';
    for (const settle of this.pending) settle('stopped');
    this.pending.clear();
    this.remote[releaseProxy]();
    this.worker.terminate();
  }
}
