/**
 * All UI state in one place (Svelte 5 runes). Components read `app` and call its methods; only this module
 * talks to the engine bridge.
 */
import { EngineBridge, modelUrls, type Progress } from './engine';
import type {
  EngineError,
  ExportResult,
  LoadSummary,
  ModelJson,
  Result,
  ResultsSummary,
  RowOrder,
} from '../../workers/api';

export type EngineState = 'loading' | 'ready' | 'error';
export type BusyKind = 'parse' | 'predict' | 'export';

export interface BusyState {
  kind: BusyKind;
  label: string;
  done: number;
  total: number;
}

export interface UserEdit {
  row: number;
  col: number;
  text: string;
}

export interface ExportInfo {
  fileName: string;
  rows: number;
  neutralizedCells: number;
  editedCells: number;
  onlyFlagged: boolean;
}

/** A request from elsewhere (e.g. the messages list) to bring one cell into view in the grid. */
export interface CellFocusRequest {
  row: number;
  col: number;
  /** Increments so repeated requests for the same cell still fire. */
  seq: number;
}

const SAMPLE_PATH = 'samples/wafer_23012020_041211.csv';

function editKey(row: number, col: number): string {
  return `${row}:${col}`;
}

export class AppState {
  engineState = $state<EngineState>('loading');
  engineMessage = $state<string>('Loading the model…');
  /** True when the worker itself died (as opposed to a model that failed to load). */
  engineCrashed = $state(false);
  model = $state.raw<ModelJson | null>(null);

  file = $state.raw<File | null>(null);
  summary = $state.raw<LoadSummary | null>(null);
  results = $state.raw<ResultsSummary | null>(null);
  /** The user ticked "predict anyway" for missing/duplicated sensor columns. */
  consent = $state(false);

  threshold = $state(0.5);
  order = $state<RowOrder>('file');
  /** Bumped whenever the rows' content or order may have changed, so the grid refetches its window. */
  dataVersion = $state(0);

  busy = $state<BusyState | null>(null);
  /** The last failure, shown in an alert until the next successful action. */
  error = $state<string | null>(null);
  /** Neutral information (cancelled, one file at a time, …). */
  info = $state<string | null>(null);
  lastExport = $state.raw<ExportInfo | null>(null);
  focusRequest = $state.raw<CellFocusRequest | null>(null);

  /** The user's edits, kept here too so they can be re-applied after an engine restart. */
  private edits = new Map<string, UserEdit>();
  editCount = $state(0);

  private bridge: EngineBridge | null = null;
  private ready: Promise<boolean> = Promise.resolve(false);
  private summarizeRunning = false;
  private summarizeQueued: number | null = null;

  get evaluationMode(): boolean {
    return this.summary?.label != null;
  }

  get needsConsent(): boolean {
    return this.summary?.mapping.needsConsent ?? false;
  }

  get hasPredictions(): boolean {
    return this.results !== null && this.results.scored > 0;
  }

  get canPredict(): boolean {
    return this.summary !== null && !this.busy && this.engineState === 'ready' && (!this.needsConsent || this.consent);
  }

  /** Start (or restart) the worker and load the model. */
  startEngine(): void {
    this.bridge?.terminate();
    this.engineState = 'loading';
    this.engineMessage = 'Loading the model…';
    this.engineCrashed = false;
    this.busy = null;
    const bridge = new EngineBridge((detail) => this.onEngineDeath(bridge, detail));
    this.bridge = bridge;
    this.ready = bridge.init(modelUrls()).then((result) => {
      if (this.bridge !== bridge) return false;
      if (!result.ok) {
        this.engineState = 'error';
        this.engineMessage = result.error.message;
        return false;
      }
      this.model = result.value;
      this.engineState = 'ready';
      this.engineMessage = 'Model ready';
      if (this.summary === null) this.threshold = result.value.threshold.value;
      return true;
    });
  }

  private onEngineDeath(bridge: EngineBridge, detail: string): void {
    if (this.bridge !== bridge) return;
    this.engineState = 'error';
    this.engineCrashed = true;
    this.engineMessage = `The engine stopped unexpectedly (${detail}).`;
    this.busy = null;
  }

  /** Restart the worker, then reload the same File and re-apply the user's edits. */
  async restartEngine(): Promise<void> {
    this.error = null;
    this.info = null;
    this.startEngine();
    if (!(await this.ready)) return;
    const file = this.file;
    if (!file) return;
    const loaded = await this.loadFile(file, { keepEdits: true });
    if (!loaded) return;
    for (const edit of this.edits.values()) {
      const result = await this.engine().setCell(edit.row, edit.col, edit.text);
      if (!result.ok) {
        this.fail(result.error);
        return;
      }
    }
    if (this.edits.size > 0) {
      this.info = `Engine restarted: ${file.name} reloaded and your ${this.edits.size === 1 ? 'edit' : `${this.edits.size} edits`} re-applied.`;
    } else {
      this.info = `Engine restarted: ${file.name} reloaded.`;
    }
    this.dataVersion++;
    if (!this.summary?.predicted && this.consent) await this.predict();
    else await this.refreshResults();
  }

  private engine(): EngineBridge {
    if (!this.bridge) throw new Error('engine not started');
    return this.bridge;
  }

  private fail(error: EngineError): void {
    if (error.code === 'cancelled') {
      this.info = error.message || 'Cancelled.';
      return;
    }
    this.error = error.message;
  }

  private progressHandler(kind: BusyKind, label: string): (p: Progress) => void {
    this.busy = { kind, label, done: 0, total: 0 };
    // At most ~10 progress renders a second (the engine reports every slice); the last update always shows.
    let last = 0;
    return (p) => {
      const now = performance.now();
      if (now - last < 100 && p.done < p.total) return;
      last = now;
      if (this.busy && this.busy.kind === kind) this.busy = { kind, label, done: p.done, total: p.total };
    };
  }

  /** Accept dropped or picked files: one at a time, and say so when given several. */
  takeFiles(files: FileList | File[] | null | undefined): void {
    const list = files ? Array.from(files) : [];
    if (list.length === 0) return;
    if (this.engineState === 'error') {
      this.info = null;
      this.error = this.engineCrashed
        ? 'The engine stopped, so the file cannot be read: choose “Restart engine” first.'
        : `The model could not be loaded, so the file cannot be read: ${this.engineMessage}`;
      return;
    }
    if (list.length > 1) {
      this.error = null;
      this.info = `${list.length} files were given at once; the app reads one file at a time, so only the first, “${list[0].name}”, is loaded.`;
    } else {
      this.info = null;
    }
    void this.loadFile(list[0], { keepEdits: false, keepInfo: list.length > 1 });
  }

  async loadSample(): Promise<void> {
    this.info = null;
    this.error = null;
    const url = new URL(import.meta.env.BASE_URL + SAMPLE_PATH, document.baseURI).href;
    try {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const blob = await response.blob();
      const name = SAMPLE_PATH.split('/').pop() ?? 'sample.csv';
      await this.loadFile(new File([blob], name, { type: 'text/csv' }), { keepEdits: false });
    } catch (err) {
      this.error = `The sample file could not be fetched (${String(err)}).`;
    }
  }

  /** Load a file; the previous data stays on screen unless this one loads successfully. */
  async loadFile(file: File, options: { keepEdits: boolean; keepInfo?: boolean }): Promise<boolean> {
    if (this.busy) {
      this.error = 'Please wait for (or cancel) the current operation before giving another file.';
      return false;
    }
    this.error = null;
    if (!options.keepInfo) this.info = null;
    const onProgress = this.progressHandler('parse', `Reading ${file.name}`);
    if (!(await this.ready)) {
      this.busy = null;
      this.error = `The model is not available, so the file cannot be read: ${this.engineMessage}`;
      return false;
    }
    const result = await this.engine().load(file, onProgress);
    this.busy = null;
    if (!result.ok) {
      if (result.error.code === 'cancelled') {
        const kept = this.summary ? ` The previous data (${this.summary.fileName}) is still shown.` : '';
        this.info = `Loading ${file.name} was cancelled.${kept}`;
      } else {
        this.fail({ ...result.error, message: `“${file.name}” could not be loaded. ${result.error.message}` });
      }
      return false;
    }
    if (!options.keepEdits && this.model) this.threshold = this.model.threshold.value;
    // Asked before the new file is drawn, so the engine counts the results while this thread renders.
    const results = result.value.predicted ? this.engine().summarize(this.threshold) : null;
    this.file = file;
    this.summary = result.value;
    this.results = null;
    this.lastExport = null;
    if (!options.keepEdits) {
      this.consent = false;
      this.edits.clear();
      this.editCount = 0;
      this.order = 'file';
    }
    this.dataVersion++;
    if (results) this.takeResults(await results);
    return true;
  }

  async predict(): Promise<void> {
    if (!this.summary || this.busy) return;
    this.error = null;
    this.info = null;
    const onProgress = this.progressHandler('predict', 'Predicting');
    const result = await this.engine().predict(this.consent, onProgress);
    this.busy = null;
    if (!result.ok) {
      this.fail(result.error);
      return;
    }
    this.results = result.value;
    this.dataVersion++;
    await this.refreshResults();
  }

  async cancel(): Promise<void> {
    await this.bridge?.cancel();
  }

  /** Recompute counts and metrics at the current threshold (no-op before any prediction exists). */
  async refreshResults(): Promise<void> {
    if (!this.summary) return;
    this.takeResults(await this.engine().summarize(this.threshold));
  }

  private takeResults(result: Result<ResultsSummary>): void {
    if (result.ok) this.results = result.value;
    else if (result.error.code !== 'model-not-ready') this.fail(result.error);
  }

  /** Labels in the grid are derived here, so they follow the slider at once; the engine recounts in the background. */
  setThreshold(value: number): void {
    if (!Number.isFinite(value)) return;
    this.threshold = Math.min(1, Math.max(0, value));
    void this.summarizeCoalesced(this.threshold);
  }

  resetThreshold(): void {
    if (this.model) this.setThreshold(this.model.threshold.value);
  }

  /** One summarize() in flight at a time; only the latest threshold asked for meanwhile is sent next. */
  private async summarizeCoalesced(threshold: number): Promise<void> {
    if (this.summarizeRunning) {
      this.summarizeQueued = threshold;
      return;
    }
    this.summarizeRunning = true;
    try {
      let next: number | null = threshold;
      while (next !== null) {
        this.summarizeQueued = null;
        const result = await this.engine().summarize(next);
        if (result.ok) this.results = result.value;
        else this.fail(result.error);
        next = this.summarizeQueued;
      }
    } finally {
      this.summarizeRunning = false;
    }
  }

  setOrder(order: RowOrder): void {
    this.order = order;
    this.dataVersion++;
  }

  window(request: Parameters<EngineBridge['window']>[0]) {
    return this.engine().window(request);
  }

  async setCell(row: number, col: number, text: string) {
    const result = await this.engine().setCell(row, col, text);
    if (!result.ok) {
      this.fail(result.error);
      return result;
    }
    this.edits.set(editKey(row, col), { row, col, text });
    this.editCount = this.edits.size;
    this.lastExport = null;
    // The probability (and so the order and the counts) may have changed.
    this.dataVersion++;
    // Not awaited: the grid shows the edited row's new probability at once; counts and metrics (a pass over
    // all rows, ~100 ms at 100k wafers) follow.
    void this.refreshResults();
    return result;
  }

  async download(onlyFlagged: boolean): Promise<void> {
    if (!this.summary || this.busy) return;
    this.error = null;
    this.info = null;
    const onProgress = this.progressHandler('export', 'Preparing the download');
    const result: Result<ExportResult> = await this.engine().exportCsv(this.threshold, onlyFlagged, onProgress);
    this.busy = null;
    if (!result.ok) {
      this.fail(result.error);
      return;
    }
    const { blob, fileName, rows, neutralizedCells, editedCells } = result.value;
    saveBlob(blob, fileName);
    this.lastExport = { fileName, rows, neutralizedCells, editedCells, onlyFlagged };
  }

  focusCell(row: number, col: number): void {
    // Issue positions are data rows; in file order the position equals the row, so jump in file order.
    if (this.order !== 'file') this.setOrder('file');
    this.focusRequest = { row, col, seq: (this.focusRequest?.seq ?? 0) + 1 };
  }
}

function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.style.display = 'none';
  document.body.append(link);
  link.click();
  link.remove();
  // Give the browser time to start the download before the URL goes away.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

