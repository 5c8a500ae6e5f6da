/**
 * All UI state in one class (Svelte 5 runes), shared with the components through context (context.ts). Only this
 * class talks to the engine, through a Bridge it is given: the worker in the page, the engine in-process in tests.
 * Results come by one route: every engine call that reads or changes the data answers the results at the UI's
 * threshold and the data version (DataState), and `takeState` is the one place that keeps them.
 */
import type {
  CellEdit,
  CellUpdate,
  DataState,
  EngineApi,
  EngineError,
  ExportResult,
  LoadChoices,
  LoadSummary,
  ModelInfo,
  ModelUrls,
  Progress,
  Result,
  ResultsSummary,
  RowOrder,
  WaferExplanation,
  WindowRequest,
} from '../../workers/api';
import { formatBytes, formatCount } from './format';
import type { SessionStore } from './session-store';

/** The engine as the UI uses it: the API, plus stopping it for good. */
export interface Bridge extends Omit<EngineApi, 'ping'> {
  terminate(): void;
}

/** What the state needs from the page; tests give their own. */
export interface AppDeps {
  /** Start an engine; `onDeath` is called if it stops unexpectedly. */
  createBridge(onDeath: (detail: string) => void): Bridge;
  modelUrls(): ModelUrls;
  /** The sample wafer file shipped with the page. */
  fetchSample(): Promise<File>;
  /** Hand a finished download to the user. */
  saveBlob(blob: Blob, fileName: string): void;
  /** Where the file and its edits are kept in this browser for a reload or a crashed tab (none: not kept). */
  sessionStore?: SessionStore;
}

/** A file and edits kept in this browser from an earlier visit, offered for restoring. */
export interface StoredOffer {
  fileName: string;
  editCount: number;
}

export type EngineState = 'loading' | 'ready' | 'error';
export type BusyKind = 'parse' | 'predict' | 'export';

export interface BusyState {
  kind: BusyKind;
  label: string;
  done: number;
  total: number;
}

export interface ExportInfo {
  fileName: string;
  rows: number;
  /** The threshold the file's predictions were written at (the engine's answer, not the slider's value now). */
  threshold: number;
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

export const PASTED_NAME = 'pasted.csv';

/** One change of one cell, as undo and redo replay it. */
export interface EditStep {
  row: number;
  col: number;
  before: string;
  after: string;
}

/** An edited cell whose text is not a valid reading (so it is treated as missing), for the Messages panel. */
export interface EditIssue {
  row: number;
  col: number;
  text: string;
  issue: string;
}

/** A file switch waiting for the user's answer because it would discard their edits. */
export interface PendingSwitch {
  /** What would be opened, for the question ("wafers.csv", "the sample"). */
  target: string;
  open: () => Promise<unknown>;
}

/** Largest file kept in this browser's storage for a reload (see storeFile). */
export const MAX_KEPT_FILE_BYTES = 1024 ** 3;

export function editKey(row: number, col: number): string {
  return `${row}:${col}`;
}

export class AppState {
  engineState = $state<EngineState>('loading');
  engineMessage = $state<string>('Loading the model…');
  /** True when the worker itself died (as opposed to a model that failed to load). */
  engineCrashed = $state(false);
  model = $state.raw<ModelInfo | null>(null);

  file = $state.raw<File | null>(null);
  summary = $state.raw<LoadSummary | null>(null);
  results = $state.raw<ResultsSummary | null>(null);
  /** What the user decided for this file (number format, id/label columns, label coding); kept over reloads. */
  choices = $state.raw<LoadChoices>({});
  /** The user ticked "predict anyway" for missing/duplicated sensor columns. */
  consent = $state(false);

  threshold = $state(0.5);
  order = $state<RowOrder>('file');
  /** The engine's data version (DataState.version): a grid window read at another version is stale. */
  dataVersion = $state(0);

  busy = $state<BusyState | null>(null);
  /** The last failure, shown in an alert until the next successful action. */
  error = $state<string | null>(null);
  /** Neutral information (cancelled, one file at a time, …). */
  info = $state<string | null>(null);
  /** Why a file given during a running operation was not taken; shown with that operation's progress, so it goes with it. */
  waitNotice = $state<string | null>(null);
  lastExport = $state.raw<ExportInfo | null>(null);
  focusRequest = $state.raw<CellFocusRequest | null>(null);

  /** The user's edits, kept here too so they can be re-applied after an engine restart. */
  private edits = new Map<string, CellEdit>();
  /** The cells that differ from the uploaded file ("row:col"), for the views that follow edits. */
  editedKeys = $state.raw<ReadonlySet<string>>(new Set());
  /** Edited cells that are not valid readings, in the order they were edited. */
  editIssues = $state.raw<EditIssue[]>([]);
  /** Undo and redo: the latest step last. */
  private undoSteps: EditStep[] = [];
  private redoSteps: EditStep[] = [];
  canUndo = $state(false);
  canRedo = $state(false);
  /** Set while the user is asked whether to discard their edits for another file. */
  pendingSwitch = $state.raw<PendingSwitch | null>(null);
  /** A session from an earlier visit (reload, crashed tab), offered until restored or forgotten. */
  storedOffer = $state.raw<StoredOffer | null>(null);
  /** The open file and its edits are kept in this browser (the "forget this file" control shows). */
  keptInBrowser = $state(false);

  /** The wafer (data row) whose explanation panel is open, or null. */
  explainedRow = $state<number | null>(null);
  /** Its explanation, at the current data version; null while it is being computed or the panel is closed. */
  explanation = $state.raw<WaferExplanation | null>(null);
  /** Why the open wafer could not be explained, or null. */
  explanationError = $state<string | null>(null);
  /** The download gets the top_sensors column (off by default: the default file is unchanged). */
  topSensors = $state(false);
  /** The data version the open explanation was computed at. */
  private explainedVersion = -1;

  private bridge: Bridge | null = null;
  private ready: Promise<boolean> = Promise.resolve(false);
  private summarizeRunning = false;
  private summarizeQueued: number | null = null;

  constructor(private readonly deps: AppDeps) {}

  /** Cells that differ from the uploaded file (an edit back to the uploaded text is none). */
  get editCount(): number {
    return this.editedKeys.size;
  }

  get evaluationMode(): boolean {
    return this.summary?.label != null;
  }

  get needsConsent(): boolean {
    return this.summary?.mapping.needsConsent ?? false;
  }

  /** The rows have been through the model: scored, or withheld for low coverage (results exist from then on). */
  get hasPredictions(): boolean {
    return this.results !== null;
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
    const bridge: Bridge = this.deps.createBridge((detail) => this.onEngineDeath(bridge, detail));
    this.bridge = bridge;
    this.ready = bridge.init(this.deps.modelUrls()).then((result) => {
      if (this.bridge !== bridge) return false;
      if (!result.ok) {
        this.engineState = 'error';
        this.engineMessage = result.error.message;
        return false;
      }
      this.model = result.value;
      this.engineState = 'ready';
      this.engineMessage = 'Model ready';
      if (this.summary === null) {
        this.threshold = result.value.threshold.value;
        void this.offerStoredSession();
      }
      return true;
    });
  }

  private onEngineDeath(bridge: Bridge, detail: string): void {
    if (this.bridge !== bridge) return;
    this.engineState = 'error';
    this.engineCrashed = true;
    this.engineMessage = `The engine stopped unexpectedly (${detail}).`;
    this.busy = null;
  }

  private async offerStoredSession(): Promise<void> {
    const stored = await this.readStore();
    if (!stored || this.summary !== null) return;
    this.storedOffer = { fileName: stored.file.name, editCount: stored.edited.length };
  }

  private async readStore() {
    try {
      return (await this.deps.sessionStore?.read()) ?? null;
    } catch {
      return null;
    }
  }

  /** Open the file kept in this browser and re-apply its edits. */
  async restoreStoredSession(): Promise<void> {
    const stored = await this.readStore();
    this.storedOffer = null;
    if (!stored) {
      this.info = 'The file kept in this browser is no longer there.';
      return;
    }
    if (!(await this.loadFile(stored.file, { keepEdits: false, keepStored: true }))) return;
    if (stored.edits.length > 0 && !(await this.replayEdits(stored.edits))) return;
    for (const e of stored.edits) this.edits.set(editKey(e.row, e.col), e);
    this.editedKeys = new Set(stored.edited);
    this.editIssues = stored.issues;
    this.keptInBrowser = true;
    if (stored.threshold !== this.threshold) this.setThreshold(stored.threshold);
    this.info = `Restored ${stored.file.name}${this.editCount > 0 ? ` with your ${this.editsText()}` : ''} from this browser.`;
  }

  /** Remove the copy kept in this browser (what is on screen stays until another file is opened). */
  async forgetStoredFile(): Promise<void> {
    const name = this.storedOffer?.fileName ?? this.file?.name ?? 'The file';
    this.storedOffer = null;
    this.keptInBrowser = false;
    try {
      await this.deps.sessionStore?.clear();
      this.info = `${name} and its edits were removed from this browser's storage.`;
    } catch (err) {
      this.error = `The copy kept in this browser could not be removed (${String(err)}).`;
    }
  }

  /** Keep the newly opened file in this browser; a failure (quota, private mode) only means nothing is kept. */
  private async storeFile(file: File): Promise<void> {
    const store = this.deps.sessionStore;
    if (!store) return;
    // The browser copies a kept file into its own storage: past this size that costs more disk and time than
    // a reload is worth, so the previous copy is dropped and nothing is kept.
    if (file.size > MAX_KEPT_FILE_BYTES) {
      this.keptInBrowser = false;
      await store.clear().catch(() => undefined);
      return;
    }
    try {
      await store.writeFile(file, this.threshold);
      this.keptInBrowser = true;
    } catch {
      this.keptInBrowser = false;
    }
  }

  private async storeEdits(): Promise<void> {
    const store = this.deps.sessionStore;
    if (!store || !this.keptInBrowser) return;
    try {
      await store.writeEdits({ edits: [...this.edits.values()], edited: [...this.editedKeys], issues: this.editIssues, threshold: this.threshold });
    } catch {
      this.keptInBrowser = false;
    }
  }

  /** Re-apply edits in one batch after a reload of the same file. */
  private async replayEdits(edits: CellEdit[]): Promise<boolean> {
    const replayed = await this.engine().setCells(edits, this.threshold);
    if (!replayed.ok) {
      this.fail(replayed.error);
      return false;
    }
    this.takeState(replayed.value);
    return true;
  }

  /** Restart the worker, then reload the same File and re-apply the user's edits in one batch. */
  async restartEngine(): Promise<void> {
    this.error = null;
    this.info = null;
    this.startEngine();
    if (!(await this.ready)) return;
    const file = this.file;
    if (!file) return;
    const edits = await this.reloadKeepingEdits(file, this.choices);
    if (edits === null) return;
    this.info =
      edits > 0
        ? `Engine restarted: ${file.name} reloaded and your ${edits === 1 ? 'edit' : `${edits} edits`} re-applied.`
        : `Engine restarted: ${file.name} reloaded.`;
  }

  /**
   * Read the same file again with changed choices (number format, id/label column, which label value means fail);
   * the user's edits are re-applied. On failure the file stays as it was, with the previous choices.
   */
  async changeChoices(change: LoadChoices): Promise<void> {
    const file = this.file;
    if (!file || this.busy) return;
    const choices = { ...this.choices, ...change };
    // Another label column has another coding.
    if (change.labelColumn !== undefined) delete choices.failValue;
    await this.reloadKeepingEdits(file, choices);
  }

  /** Load the file again (with the current choices) and re-apply the edits in one batch; the edits applied, or null on failure. */
  private async reloadKeepingEdits(file: File, choices: LoadChoices): Promise<number | null> {
    if (!(await this.loadFile(file, { keepEdits: true, choices }))) return null;
    const edits = [...this.edits.values()];
    if (edits.length > 0 && !(await this.replayEdits(edits))) return null;
    if (this.lowCoverageChoice && !(await this.scoreLowCoverage(true))) return null;
    if (this.results === null && this.consent) await this.predict();
    return edits.length;
  }

  /** The user chose to score and count low-coverage wafers (kept here to re-apply after an engine restart). */
  private lowCoverageChoice = false;

  /** Score and count the low-coverage wafers (true), or leave them without a probability (false, the default). */
  async scoreLowCoverage(include: boolean): Promise<boolean> {
    const result = await this.engine().scoreLowCoverage(include, this.threshold);
    if (!result.ok) {
      this.fail(result.error);
      return false;
    }
    this.lowCoverageChoice = include;
    this.lastExport = null;
    this.takeState(result.value);
    return true;
  }

  private engine(): Bridge {
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

  /** Keep what a data call answered; results counted at an older threshold are asked for again. */
  private takeState(state: DataState): void {
    this.dataVersion = state.version;
    this.results = state.results;
    // An edit (or a rescoring) may change the open wafer's explanation: ask again at the new version.
    if (this.explainedRow !== null && state.version !== this.explainedVersion) void this.refreshExplanation();
    if (state.results !== null && state.results.threshold !== this.threshold) void this.summarizeCoalesced(this.threshold);
  }

  private progressHandler(kind: BusyKind, label: string): (p: Progress) => void {
    this.busy = { kind, label, done: 0, total: 0 };
    this.waitNotice = null;
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
    const first = list[0];
    if (first === undefined) return;
    if (this.engineState === 'error') {
      this.info = null;
      this.error = this.engineCrashed
        ? 'The engine stopped, so the file cannot be read: choose “Restart engine” first.'
        : `The model could not be loaded, so the file cannot be read: ${this.engineMessage}`;
      return;
    }
    if (list.length > 1) {
      this.error = null;
      this.info = `${list.length} files were given at once; the app reads one file at a time, so only the first, “${first.name}”, is loaded.`;
    } else {
      this.info = null;
    }
    this.switchTo(first.name, () => this.loadFile(first, { keepEdits: false, keepInfo: list.length > 1 }));
  }

  /** Text pasted on the page (Ctrl+V outside a text box) is read as a file named PASTED_NAME. */
  takePastedText(text: string): void {
    if (text.trim() === '') {
      this.error = null;
      this.info = 'The clipboard holds no text to load. Copy the CSV text (or the cells of a spreadsheet, header row included) and paste again.';
      return;
    }
    const file = new File([text], PASTED_NAME, { type: 'text/csv' });
    const lines = text.split(/\r\n|\n|\r/).filter((line) => line.trim() !== '').length;
    this.takeFiles([file]);
    // Said only when its load has started (not when refused: another operation running, or no engine).
    const started = this.busy !== null && this.waitNotice === null && this.error === null;
    if (started) this.info = `The pasted text (${formatCount(lines)} ${lines === 1 ? 'line' : 'lines'}, ${formatBytes(file.size)}) is read as a file named “${PASTED_NAME}”.`;
  }

  /** Open another file now, or, when that would discard edits, ask first (keep / download / discard). */
  private switchTo(target: string, open: () => Promise<unknown>): void {
    if (this.editCount > 0 && this.summary !== null) {
      this.pendingSwitch = { target, open };
      return;
    }
    void open();
  }

  /** The user keeps their edits: nothing else is opened. */
  keepEditsAndStay(): void {
    const pending = this.pendingSwitch;
    this.pendingSwitch = null;
    if (pending) this.info = `${pending.target} was not opened; your ${this.editsText()} to ${this.summary?.fileName ?? 'this file'} ${this.editCount === 1 ? 'is' : 'are'} kept.`;
  }

  /** Download the edited file first, then open the other one (not when the download failed). */
  async downloadThenSwitch(): Promise<void> {
    const pending = this.pendingSwitch;
    this.pendingSwitch = null;
    if (!pending) return;
    await this.download(false);
    if (this.lastExport !== null) await pending.open();
  }

  async discardEditsAndSwitch(): Promise<void> {
    const pending = this.pendingSwitch;
    this.pendingSwitch = null;
    if (pending) await pending.open();
  }

  private editsText(): string {
    return this.editCount === 1 ? 'edit' : `${this.editCount} edits`;
  }

  /** Load the sample file (asking first when that would discard edits). */
  async loadSample(): Promise<void> {
    if (this.editCount > 0 && this.summary !== null) {
      this.pendingSwitch = { target: 'the sample', open: () => this.openSample() };
      return;
    }
    await this.openSample();
  }

  private async openSample(): Promise<void> {
    this.info = null;
    this.error = null;
    let sample: File;
    try {
      sample = await this.deps.fetchSample();
    } catch (err) {
      this.error = `The sample file could not be fetched (${String(err)}).`;
      return;
    }
    await this.loadFile(sample, { keepEdits: false });
  }

  /**
   * Load a file; the previous data stays on screen unless this one loads successfully. A new file starts with no
   * choices; a reload (keepEdits) keeps the current ones unless given others.
   */
  async loadFile(file: File, options: { keepEdits: boolean; keepInfo?: boolean; choices?: LoadChoices; keepStored?: boolean }): Promise<boolean> {
    if (this.busy) {
      this.waitNotice = `“${file.name}” was not loaded, because another operation is running (${this.busy.label}). Give it again when that has finished, or cancel it.`;
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
    // A new file starts at the model's threshold; a reload (engine restart) keeps the user's.
    const threshold = !options.keepEdits && this.model ? this.model.threshold.value : this.threshold;
    const choices = options.choices ?? (options.keepEdits ? this.choices : {});
    const result = await this.engine().load(file, threshold, onProgress, choices);
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
    this.threshold = threshold;
    this.file = file;
    this.choices = choices;
    this.summary = result.value.summary;
    this.lastExport = null;
    if (!options.keepEdits) {
      this.closeExplanation();
      this.consent = false;
      this.lowCoverageChoice = false;
      this.edits.clear();
      this.editedKeys = new Set();
      this.editIssues = [];
      this.undoSteps = [];
      this.redoSteps = [];
      this.syncHistory();
      this.order = 'file';
      this.storedOffer = null;
      if (!options.keepStored) await this.storeFile(file);
    }
    this.takeState(result.value);
    return true;
  }

  async predict(): Promise<void> {
    if (!this.summary || this.busy) return;
    this.error = null;
    this.info = null;
    const onProgress = this.progressHandler('predict', 'Predicting');
    const result = await this.engine().predict({ acceptMappingIssues: this.consent, threshold: this.threshold }, onProgress);
    this.busy = null;
    if (!result.ok) {
      this.fail(result.error);
      return;
    }
    this.takeState(result.value);
  }

  async cancel(): Promise<void> {
    await this.bridge?.cancel();
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
        if (result.ok) this.takeState(result.value);
        else if (result.error.code !== 'no-file') this.fail(result.error);
        next = this.summarizeQueued;
      }
    } finally {
      this.summarizeRunning = false;
    }
  }

  setOrder(order: RowOrder): void {
    this.order = order;
  }

  window(request: WindowRequest) {
    return this.engine().window(request);
  }

  /** Change one cell; its wafer's new probability, the order and the counts all follow from the answer. */
  async setCell(row: number, col: number, text: string): Promise<Result<CellUpdate>> {
    const before = await this.cellText(row, col);
    const result = await this.applyCell(row, col, text);
    if (result.ok && before !== null && before !== text) {
      this.undoSteps.push({ row, col, before, after: text });
      this.redoSteps = [];
      this.syncHistory();
    }
    return result;
  }

  /** Take back the latest edit (the cell gets its text before it). */
  async undo(): Promise<Result<CellUpdate> | null> {
    return this.replayStep(this.undoSteps, this.redoSteps, 'before');
  }

  /** Apply again the latest edit taken back. */
  async redo(): Promise<Result<CellUpdate> | null> {
    return this.replayStep(this.redoSteps, this.undoSteps, 'after');
  }

  /** Move one step from `from` to `to`, giving its cell the step's `side` text; the step stays put on failure. */
  private async replayStep(from: EditStep[], to: EditStep[], side: 'before' | 'after'): Promise<Result<CellUpdate> | null> {
    const step = from.at(-1);
    if (!step || this.busy || !this.summary) return null;
    const result = await this.applyCell(step.row, step.col, step[side]);
    if (result.ok) {
      from.pop();
      to.push(step);
      this.syncHistory();
      const header = this.summary.columns[step.col]?.header.trim() || `Column ${step.col + 1}`;
      this.error = null;
      this.info = `${side === 'before' ? 'Undone' : 'Redone'}: row ${step.row + 1}, ${header} is ‘${step[side]}’ again.`;
    }
    return result;
  }

  private syncHistory(): void {
    this.canUndo = this.undoSteps.length > 0;
    this.canRedo = this.redoSteps.length > 0;
  }

  /** A cell's current text (edits applied), read in file order where a position is the data row. */
  private async cellText(row: number, col: number): Promise<string | null> {
    const w = await this.engine().window({ start: row, count: 1, colStart: col, colCount: 1, order: 'file' });
    return w.ok ? (w.value.rows[0]?.cells[0] ?? null) : null;
  }

  private async applyCell(row: number, col: number, text: string): Promise<Result<CellUpdate>> {
    const result = await this.engine().setCell({ row, col, text }, this.threshold);
    if (!result.ok) {
      this.fail(result.error);
      return result;
    }
    // An edit back to the uploaded text is still replayed after a restart (harmless), but is no edit to lose.
    this.edits.set(editKey(row, col), { row, col, text });
    const edited = new Set(this.editedKeys);
    if (result.value.update.edited) edited.add(editKey(row, col));
    else edited.delete(editKey(row, col));
    this.editedKeys = edited;
    const { issue } = result.value.update;
    const others = this.editIssues.filter((x) => x.row !== row || x.col !== col);
    this.editIssues = issue === null ? others : [...others, { row, col, text, issue }];
    void this.storeEdits();
    this.lastExport = null;
    this.takeState(result.value);
    return { ok: true, value: result.value.update };
  }

  async download(onlyFlagged: boolean): Promise<void> {
    if (!this.summary || this.busy) return;
    this.error = null;
    this.info = null;
    const onProgress = this.progressHandler('export', 'Preparing the download');
    const topSensors = this.topSensors && this.canExplain;
    const result: Result<ExportResult> = await this.engine().exportCsv({ threshold: this.threshold, onlyFlagged, ...(topSensors ? { topSensors } : {}) }, onProgress);
    this.busy = null;
    if (!result.ok) {
      this.fail(result.error);
      return;
    }
    const { blob, fileName, rows, threshold, neutralizedCells, editedCells } = result.value;
    this.deps.saveBlob(blob, fileName);
    this.lastExport = { fileName, rows, threshold, neutralizedCells, editedCells, onlyFlagged };
  }

  /** The model bundle has explain.json: wafers can be explained. */
  get canExplain(): boolean {
    return this.model?.explanations ?? false;
  }

  /** Open the explanation panel for a wafer (data row). */
  async explainWafer(row: number): Promise<void> {
    if (this.summary === null || !Number.isInteger(row) || row < 0 || row >= this.summary.rows) return;
    if (this.explainedRow !== row) this.explanation = null;
    this.explainedRow = row;
    await this.refreshExplanation();
  }

  closeExplanation(): void {
    this.explainedRow = null;
    this.explanation = null;
    this.explanationError = null;
    this.explainedVersion = -1;
  }

  private async refreshExplanation(): Promise<void> {
    const row = this.explainedRow;
    if (row === null) return;
    const version = this.dataVersion;
    this.explainedVersion = version;
    const result = await this.engine().explain(row);
    // A later request (another wafer, an edit) or a close meanwhile: this answer is stale.
    if (this.explainedRow !== row || this.explainedVersion !== version) return;
    this.explanation = result.ok ? result.value : null;
    this.explanationError = result.ok ? null : result.error.message;
  }

  focusCell(row: number, col: number): void {
    // Issue positions are data rows; in file order the position equals the row, so jump in file order.
    if (this.order !== 'file') this.setOrder('file');
    this.focusRequest = { row, col, seq: (this.focusRequest?.seq ?? 0) + 1 };
  }
}
