/**
 * All UI state in one class (Svelte 5 runes), shared with the components through context (context.ts). Only this
 * class talks to the engine, through a Bridge it is given: the worker in the page, the engine in-process in tests.
 * Results come by one route: every engine call that reads or changes the data answers the results at the UI's
 * threshold and the data version (DataState), and `takeState` is the one place that keeps them.
 */
import type {
  BatchInput,
  CellEdit,
  CellUpdate,
  DataState,
  DriftReport,
  EvaluationCurves,
  EngineApi,
  EngineError,
  ExportOptions,
  ExportResult,
  LoadChoices,
  LoadSummary,
  ModelInfo,
  ModelSwitch,
  ModelUrls,
  Progress,
  ReloadRequest,
  Result,
  ResultsSummary,
  RowOrder,
  WaferExplanation,
  WindowRequest,
} from '../../workers/api';
import { BatchState, batchInputs } from './batch.svelte';
import { Coalesced } from './coalesced';
import { formatBytes, formatCount, pluralize } from './format';
import type { SessionStore, StoredModel } from './session-store';

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
  /** The model it was kept with, when that is not the active one ("… 0.1.0 (from x.zip)"), or why it is unknown. */
  otherModel: string | null;
}

export type EngineState = 'loading' | 'ready' | 'error';
export type BusyKind = 'parse' | 'predict' | 'export' | 'model';

/** How many files taking a list of files treats as a batch (one file loads as before). */
const BATCH_FROM = 2;

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

/**
 * A model switch refused only because the open file cannot be read with that model: the user may still switch and
 * close the file (asked first when that would discard edits).
 */
export interface SwitchOffer {
  /** The bundle's files, or null for the shipped model. */
  bundle: File[] | null;
  fileName: string;
}

/** "Chamber fault detector 0.1.0 (from synthetic.zip)", "SECOM wafer fault detector (XGBoost) 1.0.0 (shipped with the page)". */
export function modelLabel(model: ModelInfo): string {
  return `${model.name} ${model.version} (${model.source.kind === 'shipped' ? 'shipped with the page' : `from ${model.source.from}`})`;
}

/** Dropped files that can only be a model bundle (its model.json or an .onnx file among them), wherever they are dropped. */
export function isBundleDrop(files: FileList | File[] | null | undefined): boolean {
  return Array.from(files ?? []).some((f) => f.name === 'model.json' || /\.onnx$/i.test(f.name));
}

/** Choices that name columns of the file: a new model may use those columns as sensors. */
function columnChoicesOf(choices: LoadChoices): boolean {
  return choices.idColumn !== undefined || choices.labelColumn !== undefined || choices.failValue !== undefined;
}

function numberFormatOnly(choices: LoadChoices): LoadChoices {
  return choices.numberFormat === undefined ? {} : { numberFormat: choices.numberFormat };
}

/** Largest file kept in this browser's storage for a reload (see storeFile). */
export const MAX_KEPT_FILE_BYTES = 1024 ** 3;

export function editKey(row: number, col: number): string {
  return `${row}:${col}`;
}

/** An explanation slower than this opens the panel in its "Explaining…" state until it comes. */
const EXPLAIN_PLACEHOLDER_MS = 150;

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
  /** The file against the training distribution (null before the first report, or without a reference). */
  drift = $state.raw<DriftReport | null>(null);
  /** ROC, PR, reliability and cost counts of the labelled wafers (null without labels or scores). */
  curves = $state.raw<EvaluationCurves | null>(null);
  /** The data version the drift report and curves were read at. */
  analysisVersion = $state(-1);
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
  /** Why the last model switch was not made (shown by the model chooser); cleared by the next attempt. */
  modelError = $state<string | null>(null);
  /** What the last model switch did: the file re-read, the edits carried over, the threshold (shown by the model chooser). */
  modelNotice = $state<string | null>(null);
  /** A switch that only the open file stood in the way of (see SwitchOffer). */
  switchOffer = $state.raw<SwitchOffer | null>(null);
  /** The active bundle's files (null: the shipped model), for an engine restart and the kept session. */
  private activeBundle: File[] | null = null;
  /** The shipped model loaded when the engine started ("Back to the shipped model" is possible). */
  shippedAvailable = $state(false);

  /** A batch of files (issue 14): what only a batch has; its data is in summary/results like one file's. */
  readonly batch = new BatchState();

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
  /** The wafer whose explanation is being asked for before the panel switches to it. */
  private askedRow: number | null = null;

  private bridge: Bridge | null = null;
  /** Settles true once the model can score (engineState 'ready'), false if it cannot. */
  private ready: Promise<boolean> = Promise.resolve(false);
  /** Settles true once the engine can read a file (the model is described; scoring may still be on its way). */
  private readable: Promise<boolean> = Promise.resolve(false);

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

  /** A model can be switched to: with a working engine, even when the shipped model could not be loaded. */
  get canSwitchModel(): boolean {
    return this.busy === null && (this.engineState === 'ready' || (this.engineState === 'error' && !this.engineCrashed));
  }

  /** The rows have been through the model: scored, or withheld for low coverage (results exist from then on). */
  get hasPredictions(): boolean {
    return this.results !== null;
  }

  get canPredict(): boolean {
    return this.summary !== null && !this.busy && this.engineState === 'ready' && (!this.needsConsent || this.consent);
  }

  /**
   * Start (or restart) the worker and load the model. Files can be read as soon as the model is described
   * (model.json and the ONNX file checked); 'ready' comes when onnxruntime can score too.
   */
  startEngine(): void {
    this.bridge?.terminate();
    this.engineState = 'loading';
    this.engineMessage = 'Loading the model…';
    this.engineCrashed = false;
    this.busy = null;
    this.shippedAvailable = false;
    const bridge: Bridge = this.deps.createBridge((detail) => this.onEngineDeath(bridge, detail));
    this.bridge = bridge;
    let markReadable: (readable: boolean) => void = () => undefined;
    this.readable = new Promise((resolve) => (markReadable = resolve));
    const takeModel = (info: ModelInfo) => {
      if (this.bridge !== bridge) return;
      this.model = info;
      if (this.summary === null) this.threshold = info.threshold.value;
      markReadable(true);
    };
    this.ready = bridge.init(this.deps.modelUrls(), takeModel).then((result) => {
      if (this.bridge !== bridge) return false;
      if (!result.ok) {
        markReadable(false);
        this.engineState = 'error';
        this.engineMessage = result.error.message;
        return false;
      }
      takeModel(result.value);
      this.shippedAvailable = true;
      this.engineState = 'ready';
      this.engineMessage = 'Model ready';
      if (this.summary === null) void this.offerStoredSession();
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
    this.storedOffer = { fileName: stored.file.name, editCount: stored.edited.length, otherModel: this.otherModelText(stored.model) };
  }

  /** The kept session's model when it is not the active one, in words; null when it is the active one. */
  private otherModelText(kept: StoredModel | null): string | null {
    if (kept === null) return 'a model the page did not record (it was kept by an earlier version of the page)';
    if (this.model && kept.sha256 === this.model.onnx.sha256) return null;
    return `${kept.name} ${kept.version} (${kept.source.kind === 'shipped' ? 'shipped with the page then' : `from ${kept.source.from}`})`;
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
    const modelNote = await this.modelForRestore(stored.model, stored.file.name);
    if (!(await this.loadFile(stored.file, { keepEdits: false, keepStored: true }))) return;
    if (stored.edits.length > 0) {
      // Against another model the same edits may be valid readings or not: the issues come from this replay.
      const replayed = await this.engine().setCells(stored.edits, this.threshold);
      if (!replayed.ok) return this.fail(replayed.error);
      this.takeState(replayed.value);
      this.takeReplayedEdits(stored.edits, replayed.value.updates);
    }
    this.keptInBrowser = true;
    if (modelNote !== '') void this.storeModel();
    if (stored.threshold !== this.threshold) this.setThreshold(stored.threshold);
    this.info = `Restored ${stored.file.name}${this.editCount > 0 ? ` with your ${this.editsText()}` : ''} from this browser.${modelNote}`;
  }

  /**
   * Before a restore: switch to the model the session was kept with when that was a bundle (its files are kept
   * too). Answers what the user must know when the file is read against another model ('' when it is the same).
   */
  private async modelForRestore(kept: StoredModel | null, fileName: string): Promise<string> {
    const other = this.otherModelText(kept);
    if (other === null || this.model === null) return '';
    if (kept?.source.kind === 'bundle' && kept.bundle) {
      if (await this.switchModel('Opening the model it was kept with', (_r, onProgress) => this.engine().useBundle(kept.bundle ?? [], null, onProgress), kept.bundle, false)) {
        this.modelNotice = `Now using ${modelLabel(this.model)}, the model ${fileName} was kept with.`;
        return ` It is open with the model it was kept with, ${modelLabel(this.model)}.`;
      }
      const reason = this.modelError ?? '';
      this.modelError = null;
      return ` Its model, ${other}, could not be opened again (${reason}), so it was read against ${modelLabel(this.model)}: check the columns and messages.`;
    }
    return ` It was kept with ${other}; it was read against ${modelLabel(this.model)}: check the columns and messages.`;
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
      await store.writeFile(file, this.threshold, this.storedModel());
      this.keptInBrowser = true;
    } catch {
      this.keptInBrowser = false;
    }
  }

  /** Which model the kept file is open with (see StoredModel). */
  private storedModel(): StoredModel {
    const m = this.model;
    if (!m) throw new Error('no model to record');
    return { name: m.name, version: m.version, sha256: m.onnx.sha256, source: m.source, bundle: this.activeBundle };
  }

  private async storeModel(): Promise<void> {
    const store = this.deps.sessionStore;
    if (!store || !this.keptInBrowser) return;
    try {
      await store.writeModel(this.storedModel());
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
    // A new engine starts with the shipped model: the bundle that was in use is opened again first.
    const bundle = this.activeBundle;
    if (bundle) {
      const reopened = await this.engine().useBundle(bundle, null, () => undefined);
      if (!reopened.ok) {
        this.activeBundle = null;
        this.modelError = `After the restart the bundle could not be opened again (${reopened.error.message}); the shipped model is in use.`;
      } else this.model = reopened.value.model;
    }
    const file = this.file;
    if (!file && !this.batch.active) return;
    const edits = await this.reloadKeepingEdits(file, this.choices);
    if (edits === null) return;
    const what = file ? file.name : this.batchName();
    this.info =
      edits > 0
        ? `Engine restarted: ${what} reloaded and your ${edits === 1 ? 'edit' : `${edits} edits`} re-applied.`
        : `Engine restarted: ${what} reloaded.`;
  }

  /**
   * Read the same file again with changed choices (number format, id/label column, which label value means fail);
   * the user's edits are re-applied. On failure the file stays as it was, with the previous choices.
   */
  async changeChoices(change: LoadChoices): Promise<void> {
    const file = this.file;
    if ((!file && !this.batch.active) || this.busy) return;
    const choices = { ...this.choices, ...change };
    // Another label column has another coding.
    if (change.labelColumn !== undefined) delete choices.failValue;
    await this.reloadKeepingEdits(file, choices);
  }

  /** Load the file again (with the current choices) and re-apply the edits in one batch; the edits applied, or null on failure. */
  private async reloadKeepingEdits(file: File | null, choices: LoadChoices): Promise<number | null> {
    const loaded = file ? await this.loadFile(file, { keepEdits: true, choices }) : await this.loadBatch(this.batch.inputs, { keepEdits: true, choices });
    if (!loaded) return null;
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
    const changed = state.version !== this.dataVersion || (state.results === null) !== (this.results === null);
    this.dataVersion = state.version;
    this.results = state.results;
    // An edit (or a rescoring) may change the open wafer's explanation: ask again at the new version.
    if (this.explainedRow !== null && state.version !== this.explainedVersion) void this.refreshExplanation();
    if (state.results !== null && state.results.threshold !== this.threshold) void this.summarizing.request(this.threshold);
    else if (this.batch.active) void this.batchResults.request();
    if (changed) void this.analysis.request();
  }

  /**
   * Read the drift report and the evaluation curves for the current data version: one call in flight, and one
   * more after it when the data changed meanwhile (an edit moves the engine's counts; the reads are cheap).
   */
  private readonly analysis = new Coalesced(() => this.readAnalysis());
  private async readAnalysis(): Promise<void> {
    const version = this.dataVersion;
    const drift = this.model?.hasReference ? await this.engine().drift() : null;
    const curves = this.results !== null && this.evaluationMode ? await this.engine().curves() : null;
    // The data changed meanwhile: its takeState asked again, and that answer is the one to show.
    if (version !== this.dataVersion) return;
    this.drift = drift?.ok ? drift.value : null;
    this.curves = curves?.ok ? curves.value : null;
    this.analysisVersion = version;
  }

  /** One sensor's distribution, file against training, for the drift plot. */
  driftDistribution(sensor: string) {
    return this.engine().driftDistribution(sensor);
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

  /**
   * Accept dropped or picked files: one file is loaded as itself; several (or a folder) as a batch. `paths` are
   * the files' paths inside a dropped folder, when known.
   */
  takeFiles(files: FileList | File[] | null | undefined, paths?: string[], asBatch = false): void {
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
    if (list.length >= BATCH_FROM || asBatch) {
      const inputs = batchInputs(list, paths);
      this.switchTo(`these ${list.length} files`, () => this.loadBatch(inputs, { keepEdits: false }));
      return;
    }
    this.info = null;
    this.switchTo(first.name, () => this.loadFile(first, { keepEdits: false }));
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
    const loaded = await this.runLoad(
      {
        refused: (running) => `“${file.name}” was not loaded, because another operation is running (${running}). Give it again when that has finished, or cancel it.`,
        keepInfo: options.keepInfo ?? false,
        onProgress: () => this.progressHandler('parse', `Reading ${file.name}`),
        // A file is read as soon as the model describes itself, and scored once the model is ready.
        gate: this.readable,
        unavailable: 'the file cannot be read',
        cancelled: `Loading ${file.name} was cancelled.`,
        failed: `“${file.name}” could not be loaded.`,
      },
      options,
      (threshold, onProgress, choices) => this.engine().load(file, threshold, onProgress, choices),
    );
    if (!loaded) return false;
    this.file = file;
    this.batch.clear();
    if (!options.keepEdits) {
      this.forgetEdits();
      this.storedOffer = null;
      if (!options.keepStored) await this.storeFile(file);
    }
    this.takeState(loaded);
    return true;
  }

  /** Switch to the model of a bundle the user picked or dropped (its files, or one .zip); the open file is read again against it. */
  async useBundle(files: FileList | File[] | null | undefined): Promise<boolean> {
    const list = files ? Array.from(files) : [];
    if (list.length === 0) return false;
    return this.switchModel('Opening the model bundle', (reload, onProgress) => this.engine().useBundle(list, reload, onProgress), list, true);
  }

  /** Back to the model shipped with the page; the open file is read again against it. */
  async useShippedModel(): Promise<boolean> {
    return this.switchModel('Switching back to the shipped model', (reload, onProgress) => this.engine().useShippedModel(reload, onProgress), null, true);
  }

  /** Make the switch the open file stood in the way of, closing the file (asking first when that discards edits). */
  acceptSwitchOffer(): void {
    const offer = this.switchOffer;
    if (!offer) return;
    this.switchOffer = null;
    const bundle = offer.bundle;
    const run = (onProgress: (p: Progress) => void) => (bundle ? this.engine().useBundle(bundle, null, onProgress) : this.engine().useShippedModel(null, onProgress));
    const target = bundle ? 'the other model' : 'the shipped model';
    this.switchTo(`${target} (closing ${offer.fileName})`, () => this.switchModel(`Opening ${target}`, (_r, onProgress) => run(onProgress), bundle, false));
  }

  dismissSwitchOffer(): void {
    this.switchOffer = null;
    this.modelError = null;
  }

  /**
   * The one way models change: `run` asks the engine, which reads the open file again against the new model
   * (withFile) or closes it; nothing changes unless it succeeds. Column choices that no longer fit (an id or label
   * column the new model reads as a sensor) are dropped, and the user told.
   */
  private async switchModel(
    label: string,
    run: (reload: ReloadRequest | null, onProgress: (p: Progress) => void) => Promise<Result<ModelSwitch>>,
    bundle: File[] | null,
    withFile: boolean,
  ): Promise<boolean> {
    if (this.busy) {
      this.modelError = `The model was not switched, because another operation is running (${this.busy.label}). Try again when it has finished.`;
      return false;
    }
    if (!this.canSwitchModel) {
      this.modelError = `The model cannot be switched now: ${this.engineMessage}`;
      return false;
    }
    this.modelError = null;
    this.modelNotice = null;
    this.switchOffer = null;
    const file = withFile && this.summary !== null ? this.file : null;
    const onProgress = this.progressHandler('model', label);
    let reload: ReloadRequest | null = file ? { file, choices: this.choices } : null;
    let result = await run(reload, onProgress);
    let choicesDropped = false;
    if (!result.ok && result.error.code === 'reload-failed' && reload && columnChoicesOf(reload.choices)) {
      const plain: ReloadRequest = { file: reload.file, choices: numberFormatOnly(reload.choices) };
      const retry = await run(plain, onProgress);
      if (retry.ok) [result, reload, choicesDropped] = [retry, plain, true];
    }
    this.busy = null;
    if (!result.ok) {
      this.refuseSwitch(result.error, bundle, file);
      return false;
    }
    // What the banners said was about the file as the previous model read it.
    this.error = null;
    this.info = null;
    await this.takeSwitch(result.value, bundle, reload, choicesDropped);
    return true;
  }

  private refuseSwitch(error: EngineError, bundle: File[] | null, file: File | null): void {
    const current = this.model ? modelLabel(this.model) : 'The current model';
    const kept = `${current} stays in use${this.summary ? `, with ${this.summary.fileName} as it was` : ''}.`;
    if (error.code === 'cancelled') {
      this.modelNotice = `The model switch was cancelled. ${kept}`;
      return;
    }
    this.modelError = `${error.message} ${kept}`;
    if (error.code === 'reload-failed' && file) this.switchOffer = { bundle, fileName: file.name };
  }

  private async takeSwitch(change: ModelSwitch, bundle: File[] | null, reload: ReloadRequest | null, choicesDropped: boolean): Promise<void> {
    if (this.engineState === 'error') {
      // The shipped model had failed to load: the engine works, with this model.
      this.engineState = 'ready';
      this.engineMessage = 'Model ready';
      this.ready = Promise.resolve(true);
      this.readable = Promise.resolve(true);
    }
    const fedBefore = new Set(this.summary?.columns.filter((c) => c.role === 'feature' && !c.duplicate).map((c) => c.index) ?? []);
    const hadLowCoverageChoice = this.lowCoverageChoice;
    this.model = change.model;
    this.activeBundle = bundle;
    this.threshold = change.model.threshold.value;
    this.lastExport = null;
    const said = [`Now using ${modelLabel(change.model)}.`];
    if (change.load && reload) {
      this.consent = false;
      this.lowCoverageChoice = false;
      this.choices = reload.choices;
      this.summary = change.load.summary;
      this.takeState(change.load);
      said.push(`${reload.file.name} was read again against its ${pluralize(change.model.features.length, 'sensor')} (see Columns and Messages).`);
      const carried = await this.carryEdits(change.load.summary, fedBefore);
      if (carried) said.push(carried);
      if (choicesDropped) said.push('Your choice of the id or label column does not fit this model’s sensors, so those columns were detected again (change them under Columns).');
      if (hadLowCoverageChoice) said.push('Low-coverage wafers are left unscored again until you choose to score them with this model.');
    } else if (!reload) {
      if (this.file) said.push(`${this.file.name} was closed: it cannot be read with this model.`);
      this.closeFile();
    }
    said.push(`The threshold is this model’s own, ${change.model.threshold.value.toFixed(3)}.`);
    this.modelNotice = said.join(' ');
    if (this.file) void this.storeModel().then(() => this.storeEdits()); // the kept threshold becomes this model's too
  }

  /**
   * Re-apply the edits to the file as read against the new model. Every edit's cell is still there (the same file),
   * but one that the file's new reading lacks is counted and named, never dropped silently.
   */
  private async carryEdits(summary: LoadSummary, fedBefore: Set<number>): Promise<string | null> {
    const all = [...this.edits.values()];
    if (all.length === 0) return null;
    const fits = (e: CellEdit) => e.row < summary.rows && e.col < summary.columns.length;
    const kept = all.filter(fits);
    const lost = all.length - kept.length;
    if (lost > 0) {
      const gone = new Set(all.filter((e) => !fits(e)).map((e) => editKey(e.row, e.col)));
      this.undoSteps = this.undoSteps.filter((st) => !gone.has(editKey(st.row, st.col)));
      this.redoSteps = this.redoSteps.filter((st) => !gone.has(editKey(st.row, st.col)));
      this.syncHistory();
    }
    const replayed = kept.length > 0 ? await this.engine().setCells(kept, this.threshold) : null;
    if (replayed && !replayed.ok) {
      this.fail(replayed.error);
      return `Your edits could not be re-applied (${replayed.error.message}).`;
    }
    if (replayed) this.takeState(replayed.value);
    this.takeReplayedEdits(kept, replayed?.value.updates ?? []);
    const fedNow = new Set(summary.columns.filter((c) => c.role === 'feature' && !c.duplicate).map((c) => c.index));
    const unused = [...this.editedKeys].filter((k) => {
      const col = Number(k.split(':')[1]);
      return fedBefore.has(col) && !fedNow.has(col);
    }).length;
    const parts = [`${kept.length === all.length ? 'All' : formatCount(kept.length) + ' of'} your ${pluralize(all.length, 'edit')} carried over`];
    if (unused > 0) parts.push(`${pluralize(unused, 'of them is', 'of them are')} in a column this model does not read (kept in the download)`);
    if (lost > 0) parts.push(`${pluralize(lost, 'edit')} could not be carried over: ${lost === 1 ? 'its cell is' : 'their cells are'} not in the file as read now`);
    return `${parts.join('; ')}.`;
  }

  /** The edits as the engine applied them in a replay: which cells differ from the file, which are not valid readings. */
  private takeReplayedEdits(edits: CellEdit[], updates: CellUpdate[]): void {
    this.edits = new Map(edits.map((e) => [editKey(e.row, e.col), e]));
    const last = new Map(updates.map((u) => [editKey(u.row, u.col), u]));
    this.editedKeys = new Set([...last].filter(([, u]) => u.edited).map(([k]) => k));
    this.editIssues = [...last.values()].flatMap((u) => (u.issue === null ? [] : [{ row: u.row, col: u.col, text: u.text, issue: u.issue }]));
    void this.storeEdits();
  }

  /** The model switched without the file: the page is as before any file, with the new model. */
  private closeFile(): void {
    this.file = null;
    this.summary = null;
    this.results = null;
    this.choices = {};
    this.forgetEdits();
    this.keptInBrowser = false;
  }

  /** A new file (or none) starts with no edits, no history and none of the previous file's decisions. */
  private forgetEdits(): void {
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
    void this.summarizing.request(this.threshold);
  }

  resetThreshold(): void {
    if (this.model) this.setThreshold(this.model.threshold.value);
  }

  /** One summarize() in flight at a time; only the latest threshold asked for meanwhile is sent next. */
  private readonly summarizing = new Coalesced<number>(async (threshold) => {
    const result = await this.engine().summarize(threshold);
    if (result.ok) this.takeState(result.value);
    else if (result.error.code !== 'no-file') this.fail(result.error);
  });

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
    const onProgress = this.batch.active ? this.batchProgressHandler('export', 'Writing', this.batch.report?.loaded ?? 0) : this.progressHandler('export', 'Preparing the download');
    await this.save(onlyFlagged, (options) => this.engine().exportCsv(options, onProgress));
  }

  /** The model bundle has explain.json: wafers can be explained. */
  get canExplain(): boolean {
    return this.model?.explanations ?? false;
  }

  /**
   * Open the explanation panel for a wafer (data row). Another wafer's explanation is asked for first and the
   * panel switches to it with the answer, in one render: an "Explaining…" state in between would cost the user a
   * frame and a layout of the page (a third of the time to the panel, measured at 100k wafers). Only an answer
   * slower than EXPLAIN_PLACEHOLDER_MS shows that state.
   */
  async explainWafer(row: number): Promise<void> {
    if (this.summary === null || !Number.isInteger(row) || row < 0 || row >= this.summary.rows) return;
    if (this.explainedRow === row) return this.refreshExplanation();
    this.askedRow = row;
    const version = this.dataVersion;
    const slow = setTimeout(() => this.openExplanation(row, null, null), EXPLAIN_PLACEHOLDER_MS);
    const result = await this.engine().explain(row);
    clearTimeout(slow);
    // Another wafer asked for meanwhile, or the panel closed: this answer is not shown.
    if (this.askedRow !== row) return;
    this.askedRow = null;
    if (version !== this.dataVersion) {
      this.openExplanation(row, null, null);
      return this.refreshExplanation();
    }
    this.explainedVersion = version;
    this.openExplanation(row, result.ok ? result.value : null, result.ok ? null : result.error.message);
  }

  private openExplanation(row: number, explanation: WaferExplanation | null, error: string | null): void {
    this.explainedRow = row;
    this.explanation = explanation;
    this.explanationError = error;
  }

  closeExplanation(): void {
    this.askedRow = null;
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
    // Issue positions are data rows; in file order (every file of a batch shown) the position equals the row.
    if (this.order !== 'file') this.setOrder('file');
    this.batch.filter = null;
    this.focusRequest = { row, col, seq: (this.focusRequest?.seq ?? 0) + 1 };
  }

  // ── Batches of files (issue 14). The engine serves a batch as one session, so everything above (grid, edits,
  // undo, threshold, low coverage, choices, restart) works on it; what differs is here.

  private batchName(): string {
    return `the batch of ${this.batch.report?.loaded ?? this.batch.inputs.length} files`;
  }

  /** Progress of a batch: the file being read and the files left after it. */
  private batchProgressHandler(kind: BusyKind, verb: string, count: number): (p: Progress) => void {
    this.busy = { kind, label: `${verb} ${count} files`, done: 0, total: 0 };
    this.waitNotice = null;
    let last = 0;
    let lastFile: string | undefined;
    return (p) => {
      const now = performance.now();
      if (now - last < 100 && p.done < p.total && p.file === lastFile) return;
      last = now;
      lastFile = p.file;
      const index = p.fileIndex ?? 0;
      const left = count - index - 1;
      const label = p.file === undefined ? `${verb} ${count} files` : `${verb} ${p.file} (file ${index + 1} of ${count}; ${left === 0 ? 'the last one' : `${left} left after it`})`;
      if (this.busy && this.busy.kind === kind) this.busy = { kind, label, done: p.done, total: p.total };
    };
  }

  /**
   * Load many files as one batch; the data on screen stays unless the batch loads. A batch is not kept in this
   * browser (a reload starts empty): the previous kept file is forgotten, so a reload never offers a file that
   * is not the one on screen.
   */
  async loadBatch(inputs: BatchInput[], options: { keepEdits: boolean; choices?: LoadChoices }): Promise<boolean> {
    const n = inputs.length;
    const loaded = await this.runLoad(
      {
        refused: (running) => `The ${n} files were not loaded, because another operation is running (${running}). Give them again when that has finished, or cancel it.`,
        keepInfo: false,
        onProgress: () => this.batchProgressHandler('parse', 'Reading', n),
        // A batch is read and scored file by file, so it waits for the model to be ready.
        gate: this.ready,
        unavailable: 'the files cannot be read',
        cancelled: `Loading the ${n} files was cancelled.`,
        failed: `The ${n} files could not be loaded as a batch.`,
      },
      options,
      (threshold, onProgress, choices) => this.engine().loadBatch(inputs, threshold, onProgress, choices),
    );
    if (!loaded) return false;
    this.file = null;
    this.batch.take(inputs, loaded.batch);
    if (!options.keepEdits) {
      this.forgetEdits();
      this.storedOffer = null;
      this.keptInBrowser = false;
      await this.deps.sessionStore?.clear().catch(() => undefined);
    }
    this.takeState(loaded);
    return true;
  }

  /**
   * What loading a file and a batch share: refused while another operation runs, the wait for the model, the
   * threshold (the model's for new data, the user's on a reload) and the choices, the messages of a cancelled or
   * failed load. On success it takes the new summary, threshold and choices and answers the engine's result; on
   * failure the data on screen stays and it answers null.
   */
  private async runLoad<T extends { summary: LoadSummary }>(
    texts: { refused: (running: string) => string; keepInfo: boolean; onProgress: () => (p: Progress) => void; gate: Promise<boolean>; unavailable: string; cancelled: string; failed: string },
    options: { keepEdits: boolean; choices?: LoadChoices },
    load: (threshold: number, onProgress: (p: Progress) => void, choices: LoadChoices) => Promise<Result<T>>,
  ): Promise<T | null> {
    if (this.busy) {
      this.waitNotice = texts.refused(this.busy.label);
      return null;
    }
    this.error = null;
    if (!texts.keepInfo) this.info = null;
    const onProgress = texts.onProgress();
    if (!(await texts.gate)) {
      this.busy = null;
      this.error = `The model is not available, so ${texts.unavailable}: ${this.engineMessage}`;
      return null;
    }
    // New data starts at the model's threshold; a reload (engine restart) keeps the user's.
    const threshold = !options.keepEdits && this.model ? this.model.threshold.value : this.threshold;
    const choices = options.choices ?? (options.keepEdits ? this.choices : {});
    const result = await load(threshold, onProgress, choices);
    this.busy = null;
    if (!result.ok) {
      const kept = this.summary ? ` The previous data (${this.summary.fileName}) is still shown.` : '';
      if (result.error.code === 'cancelled') this.info = `${texts.cancelled}${kept}`;
      else this.fail({ ...result.error, message: `${texts.failed} ${result.error.message}` });
      return null;
    }
    this.threshold = threshold;
    this.choices = choices;
    this.summary = result.value.summary;
    this.lastExport = null;
    return result.value;
  }

  /** Each file's counts at the current threshold; one call at a time, the latest wish wins. */
  private readonly batchResults = new Coalesced(async () => {
    const result = await this.engine().batchResults(this.threshold);
    if (result.ok && this.batch.active) this.batch.perFile = result.value;
  });

  /** A download's options: the threshold on screen, and top_sensors when asked for and the model can explain. */
  private exportOptions(onlyFlagged: boolean): ExportOptions {
    return { threshold: this.threshold, onlyFlagged, ...(this.topSensors && this.canExplain ? { topSensors: true } : {}) };
  }

  /** A batch: one zip of a predictions file per loaded file, each as that file's own download would be. */
  async downloadZip(onlyFlagged: boolean): Promise<void> {
    if (!this.summary || this.busy || !this.batch.active) return;
    const onProgress = this.batchProgressHandler('export', 'Writing', this.batch.report?.loaded ?? 0);
    await this.save(onlyFlagged, (options) => this.engine().exportZip(options, onProgress));
  }

  /** Make a download with the options on screen and save it; a failure is shown, and nothing is saved. */
  private async save(onlyFlagged: boolean, make: (options: ExportOptions) => Promise<Result<ExportResult>>): Promise<void> {
    this.error = null;
    this.info = null;
    const result = await make(this.exportOptions(onlyFlagged));
    this.busy = null;
    if (!result.ok) {
      this.fail(result.error);
      return;
    }
    const { blob, fileName, rows, threshold, neutralizedCells, editedCells } = result.value;
    this.deps.saveBlob(blob, fileName);
    this.lastExport = { fileName, rows, threshold, neutralizedCells, editedCells, onlyFlagged };
  }
}
