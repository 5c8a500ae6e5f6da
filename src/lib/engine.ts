/**
 * Thin bridge to the engine Web Worker (Comlink). It owns the Worker object and turns a dead worker into a
 * plain `Result` error, so no call from the UI can hang forever after the worker crashes.
 */
import { wrap, proxy, releaseProxy, type Remote } from 'comlink';
import type { EngineApi, ModelUrls, Progress, Result } from '../../workers/api';

export type { Progress };

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

/** Model URLs must be absolute and built here: inside the worker a relative URL resolves against the worker's own path. */
export function modelUrls(): ModelUrls {
  const modelJson = new URL(import.meta.env.BASE_URL + 'models/model.json', document.baseURI).href;
  const modelDir = new URL(import.meta.env.BASE_URL + 'models/', document.baseURI).href;
  return { modelJson, modelDir };
}

export class EngineBridge {
  private worker: Worker;
  private remote: Remote<EngineApi>;
  private deathDetail: string | null = null;
  /** Resolvers of calls in flight, so a worker death can settle them all. */
  private pending = new Set<(detail: string) => void>();

  constructor(private readonly onDeath: (detail: string) => void) {
    this.worker = new Worker(new URL('../../workers/engine.worker.ts', import.meta.url), { type: 'module' });
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

  init(urls: ModelUrls) {
    return this.call((api) => api.init(urls));
  }
  load(file: File, onProgress: (p: Progress) => void) {
    return this.call((api) => api.load(file, proxy(onProgress)));
  }
  predict(acceptMappingIssues: boolean, onProgress: (p: Progress) => void) {
    return this.call((api) => api.predict({ acceptMappingIssues }, proxy(onProgress)));
  }
  summarize(threshold: number) {
    return this.call((api) => api.summarize(threshold));
  }
  window(request: Parameters<EngineApi['window']>[0]) {
    return this.call((api) => api.window(request));
  }
  setCell(row: number, col: number, text: string) {
    return this.call((api) => api.setCell(row, col, text));
  }
  exportCsv(threshold: number, onlyFlagged: boolean, onProgress: (p: Progress) => void) {
    return this.call((api) => api.exportCsv({ threshold, onlyFlagged }, proxy(onProgress)));
  }
  async cancel(): Promise<void> {
    if (this.deathDetail !== null) return;
    await this.remote.cancel().catch(() => undefined);
  }

  terminate(): void {
    this.deathDetail ??= 'stopped';
    for (const settle of this.pending) settle('stopped');
    this.pending.clear();
    this.remote[releaseProxy]();
    this.worker.terminate();
  }
}
