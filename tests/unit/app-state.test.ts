/**
 * The UI state over the real engine and model, in-process: what the page does through its worker bridge, minus
 * the worker. Load, cancel, results at the UI's threshold, coalesced summaries, edits and the restart replay.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';
import type { BatchInput, CellEdit, LoadChoices, Progress, WindowRequest } from '../../workers/api';
import { AppState, MAX_KEPT_FILE_BYTES, type AppDeps, type Bridge } from '../../src/lib/app.svelte';
import { createEngine, type Engine } from '../../workers/engine/engine';
import { memorySessionStore, type SessionStore } from '../../src/lib/session-store';
import { BUNDLE_DIR, bundleFixture } from './bundle-fixture';
import { fileFromDisk, fileFromText, modelJson, path, readyEngine, root, SAMPLE } from './helpers';

const T = modelJson.threshold.value;
const FIRST_ROWS: WindowRequest = { start: 0, count: 3, colStart: 0, colCount: 592, order: 'file' };

/** A bridge over an in-process engine that records the calls made through it. */
class RecordingBridge implements Bridge {
  calls: string[] = [];
  constructor(private readonly engine: Engine) {}
  private note<T>(name: string, result: T): T {
    this.calls.push(name);
    return result;
  }
  init = (...args: Parameters<Engine['init']>) => this.note('init', this.engine.init(...args));
  load = (file: File, threshold: number, onProgress?: (p: Progress) => void, choices?: LoadChoices) => this.note('load', this.engine.load(file, threshold, onProgress, choices));
  predict = (options: Parameters<Engine['predict']>[0], onProgress?: (p: Progress) => void) => this.note('predict', this.engine.predict(options, onProgress));
  summarize = (threshold: number) => this.note('summarize', this.engine.summarize(threshold));
  window = (request: WindowRequest) => this.note('window', this.engine.window(request));
  setCell = (edit: CellEdit, threshold: number) => this.note('setCell', this.engine.setCell(edit, threshold));
  setCells = (edits: CellEdit[], threshold: number) => this.note('setCells', this.engine.setCells(edits, threshold));
  useBundle = (files: File[], reload: Parameters<Engine['useBundle']>[1], onProgress?: (p: Progress) => void) => this.note('useBundle', this.engine.useBundle(files, reload, onProgress));
  useShippedModel = (reload: Parameters<Engine['useShippedModel']>[0], onProgress?: (p: Progress) => void) => this.note('useShippedModel', this.engine.useShippedModel(reload, onProgress));
  scoreLowCoverage = (include: boolean, threshold: number) => this.note('scoreLowCoverage', this.engine.scoreLowCoverage(include, threshold));
  exportCsv = (options: Parameters<Engine['exportCsv']>[0], onProgress?: (p: Progress) => void) => this.note('exportCsv', this.engine.exportCsv(options, onProgress));
  loadBatch = (inputs: BatchInput[], threshold: number, onProgress?: (p: Progress) => void, choices?: LoadChoices) => this.note('loadBatch', this.engine.loadBatch(inputs, threshold, onProgress, choices));
  batchResults = (threshold: number) => this.note('batchResults', this.engine.batchResults(threshold));
  exportZip = (options: Parameters<Engine['exportZip']>[0], onProgress?: (p: Progress) => void) => this.note('exportZip', this.engine.exportZip(options, onProgress));
  // The read-only analysis calls that follow every data change are not recorded: the tests count data calls.
  drift = () => this.engine.drift();
  driftDistribution = (sensor: string) => this.engine.driftDistribution(sensor);
  curves = () => this.engine.curves();
  explain = (row: number) => this.note('explain', this.engine.explain(row));
  cancel = () => this.engine.cancel();
  terminated = false;
  terminate = () => {
    this.terminated = true;
  };
}

interface Harness {
  app: AppState;
  bridges: RecordingBridge[];
  saved: { blob: Blob; fileName: string }[];
  /** Make the current engine "die" as a crashed worker would. */
  kill(detail: string): void;
}

async function startedApp(options: { sliceSize?: number; sessionStore?: SessionStore } = {}): Promise<Harness> {
  const bridges: RecordingBridge[] = [];
  const deaths: ((detail: string) => void)[] = [];
  const saved: Harness['saved'] = [];
  // createBridge is synchronous, as a Worker's start is; the engine it wraps is made ready before each start.
  let nextEngine = await readyEngine({ ...(options.sliceSize ? { sliceSize: options.sliceSize } : {}) });
  const deps: AppDeps = {
    createBridge: (onDeath) => {
      const bridge = new RecordingBridge(nextEngine);
      bridges.push(bridge);
      deaths.push(onDeath);
      return bridge;
    },
    modelUrls: () => ({ modelJson: pathToFileURL(path('public/models/model.json')).href, modelDir: pathToFileURL(path('public/models/')).href }),
    fetchSample: async () => fileFromDisk(SAMPLE),
    saveBlob: (blob, fileName) => saved.push({ blob, fileName }),
    ...(options.sessionStore ? { sessionStore: options.sessionStore } : {}),
  };
  const app = new AppState(deps);
  app.startEngine();
  await until(() => app.engineState === 'ready');
  const harness: Harness = {
    app,
    bridges,
    saved,
    kill: (detail) => deaths.at(-1)?.(detail),
  };
  // Every restart gets a fresh engine, as a new worker would be.
  const restart = app.restartEngine.bind(app);
  app.restartEngine = async () => {
    nextEngine = await readyEngine({ ...(options.sliceSize ? { sliceSize: options.sliceSize } : {}) });
    return restart();
  };
  return harness;
}

async function until(condition: () => boolean, ms = 60_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > ms) throw new Error('timed out waiting for the app state');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Wait until the edits kept in the store are these cells (the store is written after each edit, not awaited). */
async function untilStored(store: SessionStore, edited: string[]): Promise<void> {
  const start = Date.now();
  while (JSON.stringify((await store.read())?.edited.slice().sort()) !== JSON.stringify(edited)) {
    if (Date.now() - start > 60_000) throw new Error('timed out waiting for the stored edits');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('the UI state over the engine', () => {
  test('a load answers the summary, the results at the model threshold and the data version in one call', async () => {
    const { app, bridges } = await startedApp();
    expect(app.model?.threshold.value).toBe(T);
    await app.loadSample();
    expect(app.summary?.rows).toBe(100);
    expect(app.results).toMatchObject({ rows: 100, scored: 100, threshold: T });
    expect(app.dataVersion).toBeGreaterThan(0);
    expect(app.hasPredictions).toBe(true);
    // No second round trip for the results.
    expect(bridges[0]!.calls).toEqual(['init', 'load']);
  });

  test('after a load the drift report and the curves follow the data version, edits included', async () => {
    const { app } = await startedApp();
    await app.loadSample();
    const settled = () => until(() => app.analysisVersion === app.dataVersion);
    await settled();
    expect(app.drift?.rows).toBe(100);
    expect(app.drift?.verdict).not.toBe('unlike');
    expect(app.curves?.file.fails).toBe(app.results?.evaluation?.tp! + app.results?.evaluation?.fn!);
    const before = app.drift!.sensors.find((s) => s.sensor === 'Sensor-60')!;
    const col = app.summary!.columns.findIndex((c) => c.feature === 'Sensor-60');
    expect((await app.setCell(0, col, '')).ok).toBe(true);
    await settled();
    const after = app.drift!.sensors.find((s) => s.sensor === 'Sensor-60')!;
    // the sample's first wafer has a Sensor-60 reading: emptying it is one reading fewer, one missing more
    expect(after.present).toBe(before.present - 1);
    expect(after.missingRate).toBeCloseTo(before.missingRate + 0.01, 12);
  });

  test('a file that needs consent has no results until predict, which answers them at the UI threshold', async () => {
    const { app } = await startedApp();
    expect(await app.loadFile(fileFromDisk('tests/fixtures/bad/missing-few.csv'), { keepEdits: false })).toBe(true);
    expect(app.results).toBeNull();
    expect(app.canPredict).toBe(false);
    app.consent = true;
    app.threshold = 0.2;
    const before = app.dataVersion;
    await app.predict();
    expect(app.results).toMatchObject({ scored: 12, threshold: 0.2 });
    expect(app.dataVersion).toBeGreaterThan(before);
  });

  test('threshold moves are coalesced: one summary in flight, then only the latest', async () => {
    const { app, bridges } = await startedApp();
    await app.loadSample();
    const bridge = bridges[0]!;
    bridge.calls = [];
    for (let k = 1; k <= 20; k++) app.setThreshold(k / 40);
    await until(() => app.results?.threshold === 0.5);
    expect(bridge.calls.filter((c) => c === 'summarize')).toHaveLength(2);
    expect(app.threshold).toBe(0.5);
  });

  test('an edit answers the new probability, the results and a new version; a failed edit keeps the state', async () => {
    const { app } = await startedApp();
    await app.loadSample();
    const before = await app.window(FIRST_ROWS);
    expect(before.ok).toBe(true);
    const version = app.dataVersion;
    const update = await app.setCell(0, 60, '1e9');
    expect(update.ok && update.value.edited).toBe(true);
    expect(app.dataVersion).toBeGreaterThan(version);
    expect(app.editCount).toBe(1);
    const after = await app.window(FIRST_ROWS);
    expect(after.ok && after.value.version).toBe(app.dataVersion);
    expect(after.ok && after.value.rows[0]!.cells[60]).toBe('1e9');
    const bad = await app.setCell(100, 0, 'x');
    expect(bad.ok).toBe(false);
    expect(app.error).toMatch(/out of range/);
    expect(app.editCount).toBe(1);
  });

  test('cancel during a load keeps the previous file and says so', async () => {
    const { app } = await startedApp({ sliceSize: 4096 });
    await app.loadSample();
    const results = app.results;
    const text = (await fileFromDisk(SAMPLE).text()).repeat(3);
    const loading = app.loadFile(fileFromText(text, 'big.csv'), { keepEdits: false });
    await until(() => app.busy !== null && app.busy.done > 0);
    await app.cancel();
    expect(await loading).toBe(false);
    expect(app.info).toBe('Loading big.csv was cancelled. The previous data (wafer_23012020_041211.csv) is still shown.');
    expect(app.summary?.fileName).toBe('wafer_23012020_041211.csv');
    expect(app.results).toBe(results);
    expect(app.busy).toBeNull();
  });

  test('a restart after the engine died reloads the file and replays every edit in one batch', async () => {
    const { app, bridges, kill } = await startedApp();
    await app.loadSample();
    await app.setCell(0, 60, '1e9');
    await app.setCell(2, 0, 'Renamed');
    await app.setCell(0, 60, '2e9');
    app.setThreshold(0.1);
    await until(() => app.results?.threshold === 0.1);
    const expected = await app.window(FIRST_ROWS);
    const results = app.results;
    kill('out of memory');
    expect(app.engineState).toBe('error');
    expect(app.engineCrashed).toBe(true);
    await app.restartEngine();
    expect(bridges).toHaveLength(2);
    expect(bridges[1]!.calls.filter((c) => c === 'setCells' || c === 'setCell')).toEqual(['setCells']);
    expect(app.info).toBe('Engine restarted: wafer_23012020_041211.csv reloaded and your 2 edits re-applied.');
    expect(app.threshold).toBe(0.1);
    expect(app.results).toEqual(results);
    const replayed = await app.window(FIRST_ROWS);
    expect(replayed.ok && expected.ok && replayed.value.rows).toEqual(expected.ok && expected.value.rows);
  });

  test('the choice to score low-coverage wafers survives an engine restart; a new file starts without it', async () => {
    const { app, kill } = await startedApp();
    await app.loadFile(fileFromDisk('tests/fixtures/bad/low-coverage.csv'), { keepEdits: false });
    expect([app.results?.scored, app.results?.lowCoverage, app.results?.lowCoverageScored]).toEqual([10, 2, false]);
    expect(await app.scoreLowCoverage(true)).toBe(true);
    expect([app.results?.scored, app.results?.lowCoverageScored]).toEqual([12, true]);
    const results = app.results;
    kill('out of memory');
    await app.restartEngine();
    expect(app.results).toEqual(results);
    await app.loadFile(fileFromDisk('tests/fixtures/bad/low-coverage.csv'), { keepEdits: false });
    expect([app.results?.scored, app.results?.lowCoverageScored]).toEqual([10, false]);
  });

  test('download hands the file to the page with what it holds', async () => {
    const { app, saved } = await startedApp();
    await app.loadSample();
    await app.download(true);
    expect(saved).toHaveLength(1);
    expect(saved[0]!.fileName).toBe('wafer_23012020_041211_flagged.csv');
    expect(app.lastExport).toMatchObject({ rows: app.results?.flagged, onlyFlagged: true });
  });

  test('a label coding, role or number format choice reloads the same file with the edits and is kept by a restart; a new file starts fresh', async () => {
    const { app, bridges } = await startedApp();
    const file = fileFromDisk('tests/fixtures/bad/labels-class-ab.csv');
    expect(await app.loadFile(file, { keepEdits: false })).toBe(true);
    expect(app.summary?.label?.coding).toBe('unresolved');
    expect(app.results?.evaluation).toBeNull();
    await app.setCell(0, 60, '1e9');
    const edited = await app.window(FIRST_ROWS);

    await app.changeChoices({ failValue: 'B' });
    expect(app.choices).toEqual({ failValue: 'B' });
    expect(app.summary?.label).toMatchObject({ coding: 'chosen', failValue: 'B' });
    expect(app.results?.evaluation).not.toBeNull();
    expect(bridges[0]!.calls.slice(-2)).toEqual(['load', 'setCells']);
    const reloaded = await app.window(FIRST_ROWS);
    expect(reloaded.ok && edited.ok && reloaded.value.rows).toEqual(edited.ok && edited.value.rows);
    expect(app.editCount).toBe(1);

    // Another label column drops the coding chosen for the previous one.
    await app.changeChoices({ labelColumn: null, numberFormat: 'comma' });
    expect(app.choices).toEqual({ labelColumn: null, numberFormat: 'comma' });
    expect(app.summary).toMatchObject({ label: null, numberFormat: 'comma', numberFormatChosen: true });

    await app.restartEngine();
    expect(app.summary).toMatchObject({ label: null, numberFormat: 'comma' });
    expect(app.editCount).toBe(1);

    // Another file over an edit asks first; discarding opens it with no choices.
    await app.loadSample();
    expect(app.pendingSwitch).not.toBeNull();
    await app.discardEditsAndSwitch();
    expect(app.choices).toEqual({});
    expect(app.summary).toMatchObject({ numberFormat: 'point', numberFormatChosen: false, label: { coding: 'declared' } });
  });

  test('a choice the engine refuses keeps the file and the previous choices, with the message', async () => {
    const { app } = await startedApp();
    await app.loadFile(fileFromDisk('tests/fixtures/bad/labels-class-ab.csv'), { keepEdits: false });
    await app.changeChoices({ failValue: 'B' });
    await app.changeChoices({ idColumn: 3 });
    expect(app.error).toBe('“labels-class-ab.csv” could not be loaded. Column “Sensor-3” holds sensor readings; it cannot be the id column.');
    expect(app.choices).toEqual({ failValue: 'B' });
    expect(app.summary?.label).toMatchObject({ coding: 'chosen' });
  });
});

// ── Issue 10, points 7 and 8 (branch r-formats): pasted text, the busy notice, the download's threshold.
describe('pasted text, the busy notice and the download threshold', () => {
  const sampleText = readFileSync(path(SAMPLE), 'utf8');

  test('pasted text is loaded as pasted.csv and said; an empty paste is said and loads nothing', async () => {
    const { app } = await startedApp();
    app.takePastedText('  \n');
    expect(app.info).toBe('The clipboard holds no text to load. Copy the CSV text (or the cells of a spreadsheet, header row included) and paste again.');
    expect(app.busy).toBeNull();
    const tabbed = sampleText.replaceAll(',', '\t');
    app.takePastedText(tabbed);
    expect(app.info).toBe(`The pasted text (101 lines, ${(new Blob([tabbed]).size / 1024).toFixed(1)} KB) is read as a file named “pasted.csv”.`);
    await until(() => app.busy === null);
    expect(app.summary).toMatchObject({ fileName: 'pasted.csv', rows: 100, delimiter: '\t' });
    expect(app.results?.scored).toBe(100);
  });

  test('a file given while a load runs is refused next to that load, and the notice goes with it', async () => {
    const { app } = await startedApp({ sliceSize: 4096 });
    const loading = app.loadFile(fileFromText(sampleText, 'first.csv'), { keepEdits: false });
    expect(await app.loadFile(fileFromText(sampleText, 'second.csv'), { keepEdits: false })).toBe(false);
    expect(app.waitNotice).toBe('“second.csv” was not loaded, because another operation is running (Reading first.csv). Give it again when that has finished, or cancel it.');
    expect(app.error).toBeNull();
    expect(await loading).toBe(true);
    expect(app.busy).toBeNull();
    // The next operation starts without it.
    const predicting = app.download(false);
    expect(app.busy).not.toBeNull();
    expect(app.waitNotice).toBeNull();
    await predicting;
  });

  test('the download reports the threshold it was written at, even when the slider moved meanwhile', async () => {
    const { app, saved } = await startedApp({ sliceSize: 4096 });
    await app.loadSample();
    const exporting = app.download(false);
    app.setThreshold(0.9);
    await exporting;
    expect(app.lastExport?.threshold).toBe(T);
    expect(app.threshold).toBe(0.9);
    const predictions = (await saved[0]!.blob.text()).split('\n')[1]!.split(',').at(-1);
    expect(predictions === 'Fault' || predictions === 'OK').toBe(true);
  });
});

describe('edits are never dropped silently', () => {
  const cellAt = async (app: AppState, row: number, col: number) => {
    const w = await app.window({ start: row, count: 1, colStart: col, colCount: 1, order: 'file' });
    if (!w.ok) throw new Error(w.error.message);
    return w.value.rows[0]!.cells[0];
  };

  test('undo gives the cell its text before the edit, redo the edit again; a new edit clears redo', async () => {
    const { app } = await startedApp();
    await app.loadSample();
    const uploaded = await cellAt(app, 0, 60);
    const probability = app.results;
    expect(app.canUndo).toBe(false);
    await app.setCell(0, 60, '1e9');
    await app.setCell(0, 60, '2e9');
    expect(app.canUndo).toBe(true);
    expect(app.canRedo).toBe(false);

    await app.undo();
    expect(await cellAt(app, 0, 60)).toBe('1e9');
    expect(app.info).toBe('Undone: row 1, Sensor-60 is ‘1e9’ again.');
    await app.undo();
    expect(await cellAt(app, 0, 60)).toBe(uploaded);
    // Back to the uploaded text: no edit is left to lose, and the results are the uploaded file's again.
    expect(app.editCount).toBe(0);
    expect(app.results).toEqual(probability);
    expect(app.canUndo).toBe(false);
    expect(await app.undo()).toBeNull();

    await app.redo();
    expect(await cellAt(app, 0, 60)).toBe('1e9');
    expect(app.info).toBe('Redone: row 1, Sensor-60 is ‘1e9’ again.');
    expect(app.editCount).toBe(1);
    expect(app.canRedo).toBe(true);
    await app.setCell(1, 3, '7');
    expect(app.canRedo).toBe(false);
  });

  test('another file while there are edits asks first; "keep" opens nothing and keeps the edits', async () => {
    const { app, bridges } = await startedApp();
    await app.loadSample();
    await app.setCell(0, 60, '1e9');
    const calls = bridges[0]!.calls.length;
    app.takeFiles([fileFromDisk('tests/fixtures/bad/missing-few.csv')]);
    expect(app.pendingSwitch?.target).toBe('missing-few.csv');
    expect(bridges[0]!.calls.length).toBe(calls); // nothing loaded yet
    app.keepEditsAndStay();
    expect(app.pendingSwitch).toBeNull();
    expect(app.info).toBe('missing-few.csv was not opened; your edit to wafer_23012020_041211.csv is kept.');
    expect(app.summary?.fileName).toBe('wafer_23012020_041211.csv');
    expect(await cellAt(app, 0, 60)).toBe('1e9');
    expect(app.editCount).toBe(1);
  });

  test('"Try a sample" with edits asks too; "download, then open" saves the edited file before opening', async () => {
    const { app, saved } = await startedApp();
    await app.loadSample();
    await app.setCell(0, 60, '1e9');
    await app.loadSample();
    expect(app.pendingSwitch?.target).toBe('the sample');
    await app.downloadThenSwitch();
    expect(saved).toHaveLength(1);
    expect(saved[0]!.fileName).toBe('wafer_23012020_041211_predictions.csv');
    const line = (await saved[0]!.blob.text()).split('\n')[1]!.split(',');
    expect(line[60]).toBe('1e9');
    await until(() => app.editCount === 0);
    expect(await cellAt(app, 0, 60)).not.toBe('1e9');
    expect(app.canUndo).toBe(false);
  });

  test('"discard" opens the other file; without edits nothing is asked', async () => {
    const { app } = await startedApp();
    await app.loadSample();
    await app.setCell(0, 60, '1e9');
    app.takeFiles([fileFromDisk('tests/fixtures/bad/missing-few.csv')]);
    await app.discardEditsAndSwitch();
    expect(app.summary?.fileName).toBe('missing-few.csv');
    expect(app.editCount).toBe(0);
    await app.loadSample();
    expect(app.pendingSwitch).toBeNull();
    expect(app.summary?.fileName).toBe('wafer_23012020_041211.csv');
  });

  test('the edits that make a cell text are listed for the Messages panel, and leave it when corrected or undone', async () => {
    const { app } = await startedApp();
    await app.loadSample();
    await app.setCell(3, 60, 'broken');
    await app.setCell(4, 61, '12');
    expect(app.editIssues).toEqual([{ row: 3, col: 60, text: 'broken', issue: expect.any(String) }]);
    expect(app.editIssues[0]!.issue.length).toBeGreaterThan(5);
    expect([...app.editedKeys].sort()).toEqual(['3:60', '4:61']);
    await app.undo();
    await app.undo();
    expect(app.editIssues).toEqual([]);
    await app.redo();
    expect(app.editIssues.map((x) => x.text)).toEqual(['broken']);
    await app.setCell(3, 60, '1.5');
    expect(app.editIssues).toEqual([]);
  });

  test('a reload offers the file and edits kept in this browser; restore brings them back; forget removes them', async () => {
    const sessionStore = memorySessionStore();
    const first = await startedApp({ sessionStore });
    expect(first.app.storedOffer).toBeNull();
    await first.app.loadSample();
    expect(first.app.keptInBrowser).toBe(true);
    await first.app.setCell(0, 60, '1e9');
    await first.app.setCell(3, 61, 'broken');
    await untilStored(sessionStore, ['0:60', '3:61']);
    const expected = await first.app.window(FIRST_ROWS);
    const results = first.app.results;

    // The page again (a reload or a crashed tab): the same storage, a new state and engine.
    const { app } = await startedApp({ sessionStore });
    await until(() => app.storedOffer !== null);
    expect(app.storedOffer).toEqual({ fileName: 'wafer_23012020_041211.csv', editCount: 2, otherModel: null });
    expect(app.summary).toBeNull();
    await app.restoreStoredSession();
    expect(app.info).toBe('Restored wafer_23012020_041211.csv with your 2 edits from this browser.');
    expect(app.editCount).toBe(2);
    expect(app.editIssues.map((x) => x.text)).toEqual(['broken']);
    expect(app.results).toEqual(results);
    const restored = await app.window(FIRST_ROWS);
    expect(restored.ok && expected.ok && restored.value.rows).toEqual(expected.ok && expected.value.rows);
    // Still kept: a further edit is stored too.
    await app.setCell(1, 60, '5');
    await untilStored(sessionStore, ['0:60', '1:60', '3:61']);

    await app.forgetStoredFile();
    expect(app.info).toBe("wafer_23012020_041211.csv and its edits were removed from this browser's storage.");
    expect(app.keptInBrowser).toBe(false);
    expect(await sessionStore.read()).toBeNull();
  });

  test('a file over MAX_KEPT_FILE_BYTES is not kept in this browser, and the copy of the previous one is dropped', async () => {
    const sessionStore = memorySessionStore();
    const { app } = await startedApp({ sessionStore });
    await app.loadSample();
    expect(await sessionStore.read()).not.toBeNull();
    // The sample's bytes in a Blob that says it is larger than the limit (what is past the bytes reads as nothing).
    const text = await fileFromDisk(SAMPLE).text();
    class LargeBlob extends Blob {
      override get size(): number {
        return MAX_KEPT_FILE_BYTES + 1;
      }
    }
    const large = new LargeBlob([text]) as unknown as File;
    Object.defineProperty(large, 'name', { value: 'large.csv' });
    expect(await app.loadFile(large, { keepEdits: false })).toBe(true);
    expect(app.keptInBrowser).toBe(false);
    expect(await sessionStore.read()).toBeNull();
  });
});

describe('a batch of files in the UI state (issue 14)', () => {
  const BATCH = ['Wafer_13012020_090817.csv', 'Wafer_13012020_101530.csv', 'Wafer_13012020_142209.csv', 'Wafer_13012020_160000.csv'];
  const batchFiles = () => BATCH.map((n) => fileFromDisk(`tests/fixtures/batch/${n}`));

  test('several files load as one batch; edits, choices and an engine restart work on it; its per-file counts follow', async () => {
    const { app, bridges } = await startedApp();
    app.takeFiles(batchFiles());
    await until(() => app.batch.active && app.busy === null && app.results !== null);
    expect(app.summary?.rows).toBe(100);
    expect(app.batch.report?.files.map((f) => f.status)).toEqual(['loaded', 'loaded', 'loaded', 'refused']);
    await until(() => app.batch.perFile.length === 3);
    expect(app.batch.perFile.map((p) => p.rows)).toEqual([40, 30, 30]);
    // An edit in the second file (batch row 45), then an engine restart: the batch is read again, the edit re-applied.
    const edited = await app.setCell(45, 3, '999');
    expect(edited.ok).toBe(true);
    await app.restartEngine();
    expect(app.info).toBe('Engine restarted: the batch of 3 files reloaded and your edit re-applied.');
    expect(bridges.at(-1)?.calls).toContain('loadBatch');
    const w = await app.window({ start: 45, count: 1, colStart: 3, colCount: 1, order: 'file' });
    expect(w.ok && w.value.rows[0]?.cells[0]).toBe('999');
    expect(w.ok && w.value.rows[0]?.source).toBe('Wafer_13012020_101530.csv');
    // A choice applies to every file: the batch is read again with it, the edit kept.
    await app.changeChoices({ numberFormat: 'point' });
    expect(app.summary?.numberFormatChosen).toBe(true);
    expect(app.batch.report?.loaded).toBe(3);
    expect(app.editCount).toBe(1);
  });

  test('progress names the file being read and the files left; cancel stops the batch and keeps what was shown', async () => {
    const { app } = await startedApp({ sliceSize: 2048 });
    await app.loadSample();
    const labels: string[] = [];
    app.takeFiles(batchFiles());
    await until(() => {
      if (app.busy) labels.push(app.busy.label);
      return app.busy?.label.includes('file 2 of 4') ?? false;
    });
    await app.cancel();
    await until(() => app.busy === null);
    expect(labels).toContain('Reading Wafer_13012020_101530.csv (file 2 of 4; 2 left after it)');
    expect(app.info).toBe('Loading the 4 files was cancelled. The previous data (wafer_23012020_041211.csv) is still shown.');
    expect(app.batch.active).toBe(false);
    expect(app.summary?.fileName).toBe('wafer_23012020_041211.csv');
  });

  test('a batch is not kept in this browser: the kept file is forgotten; one file after it ends the batch', async () => {
    const store = memorySessionStore();
    const { app } = await startedApp({ sessionStore: store });
    await app.loadSample();
    await until(() => app.keptInBrowser);
    app.takeFiles(batchFiles());
    await until(() => app.batch.active && app.busy === null);
    expect(app.keptInBrowser).toBe(false);
    expect(await store.read()).toBeNull();
    await app.loadSample();
    expect(app.batch.active).toBe(false);
    expect(app.summary?.rows).toBe(100);
  });
});

describe('another model: the UI state switches bundles over the engine', () => {
  const fixture = bundleFixture(root);
  const { manifest, golden, names: bundleNames } = fixture;
  const bundle = (skip: string[] = []) => bundleNames.filter((n) => !skip.includes(n)).map((n) => fileFromDisk(`${BUNDLE_DIR}/${n}`));
  const N = manifest.features.length;

  /** The bundle's golden wafers beside the first sample wafers, row by row: a file both models can read. */
  function bothModelsFile(): File {
    const secom = readFileSync(path(SAMPLE), 'utf8').trimEnd().split('\n');
    const own = fixture.wafersCsv.trimEnd().split('\n');
    return new File([own.map((line, i) => `${line},${secom[i] ?? ''}`).join('\n') + '\n'], 'both.csv');
  }

  test('a failed switch keeps the model, the file and the edits; the bundle that cannot read the file may be used without it', async () => {
    const { app } = await startedApp();
    await app.loadSample();
    await app.setCell(0, 60, '1e9');
    const summary = app.summary;
    expect(await app.useBundle(bundle(['golden.json']))).toBe(false);
    expect(app.modelError).toMatch(/^The bundle has no golden\.json, which model\.json lists as bundle\.files\.golden/);
    expect(app.modelError).toContain(`${modelJson.name} ${modelJson.version} (shipped with the page) stays in use, with wafer_23012020_041211.csv as it was.`);
    expect(app.summary).toBe(summary);
    expect(app.model?.source).toEqual({ kind: 'shipped' });
    expect(app.switchOffer).toBeNull();

    expect(await app.useBundle(bundle())).toBe(false);
    expect(app.modelError).toContain('was not switched to, because “wafer_23012020_041211.csv” cannot be read with it');
    expect(app.editCount).toBe(1);
    expect(app.switchOffer).toMatchObject({ fileName: 'wafer_23012020_041211.csv' });
    app.acceptSwitchOffer();
    // Closing the file would discard the edit: asked first.
    expect(app.pendingSwitch?.target).toBe('the other model (closing wafer_23012020_041211.csv)');
    await app.discardEditsAndSwitch();
    expect(app.model?.name).toBe(manifest.name);
    expect(app.summary).toBeNull();
    expect(app.file).toBeNull();
    expect(app.modelNotice).toContain('wafer_23012020_041211.csv was closed: it cannot be read with this model.');
    expect(app.editCount).toBe(0);
    expect(app.threshold).toBe(manifest.threshold.value);
  });

  test('a switch re-reads the open file against the new model, carries the edits over with their new issues, and back again', async () => {
    const sessionStore = memorySessionStore();
    const { app } = await startedApp({ sessionStore });
    expect(await app.loadFile(bothModelsFile(), { keepEdits: false })).toBe(true);
    const header = app.summary?.columns.map((c) => c.header) ?? [];
    const sensor5 = header.indexOf('Sensor-5');
    const own = header.indexOf(fixture.ownSensor);
    await app.setCell(0, sensor5, '42');
    await app.setCell(0, own, 'broken');
    expect(app.editIssues).toEqual([]); // the bundle's sensor is no sensor of the shipped model

    expect(await app.useBundle(bundle())).toBe(true);
    expect(app.modelError).toBeNull();
    expect(app.model).toMatchObject({ name: manifest.name, source: { kind: 'bundle', from: `model.json + ${bundleNames.length - 1} files` } });
    expect(app.summary?.columns.filter((c) => c.role === 'feature').length).toBe(N);
    expect(app.summary?.mapping.missingFeatures).toEqual([]);
    expect(app.threshold).toBe(manifest.threshold.value);
    expect(app.modelNotice).toContain(`both.csv was read again against its ${N} sensors`);
    expect(app.modelNotice).toContain('All your 2 edits carried over; 1 of them is in a column this model does not read (kept in the download).');
    expect(app.editCount).toBe(2);
    expect(app.editIssues).toMatchObject([{ row: 0, col: own, text: 'broken' }]);
    const rows = await app.window({ start: 0, count: golden.wafers.length, colStart: 0, colCount: 1, order: 'file' });
    if (!rows.ok) throw new Error(rows.error.message);
    // Every wafer but the edited one scores as its training scored it.
    rows.value.rows.slice(1).forEach((r, i) => expect(Math.abs((r.probability ?? Number.NaN) - (golden.wafers[i + 1]?.probability ?? 0))).toBeLessThan(1e-5));
    expect((await sessionStore.read())?.model).toMatchObject({ name: manifest.name, source: { kind: 'bundle' } });
    expect((await sessionStore.read())?.model?.bundle?.map((f) => f.name)).toEqual(bundleNames);

    expect(await app.useShippedModel()).toBe(true);
    expect(app.model?.source).toEqual({ kind: 'shipped' });
    expect(app.summary?.columns.filter((c) => c.role === 'feature').length).toBe(590);
    expect(app.editCount).toBe(2);
    expect(app.editIssues).toEqual([]);
    expect(app.threshold).toBe(T);
    expect(app.modelNotice).toContain('1 of them is in a column this model does not read');
    expect((await sessionStore.read())?.model).toMatchObject({ source: { kind: 'shipped' }, bundle: null });
  });

  test('a kept session records its model: a reload opens that bundle again before restoring the edits', async () => {
    const sessionStore = memorySessionStore();
    const first = await startedApp({ sessionStore });
    await first.app.useBundle(bundle());
    expect(await first.app.loadFile(fileFromText(fixture.wafersCsv, 'wafers.csv'), { keepEdits: false })).toBe(true);
    const own = first.app.summary?.columns.findIndex((c) => c.header === fixture.ownSensor) ?? -1;
    await first.app.setCell(2, own, 'broken');
    await untilStored(sessionStore, [`2:${own}`]);

    const { app } = await startedApp({ sessionStore });
    await until(() => app.storedOffer !== null);
    expect(app.storedOffer?.otherModel).toBe(`${manifest.name} ${manifest.version} (from model.json + ${bundleNames.length - 1} files)`);
    await app.restoreStoredSession();
    expect(app.model?.name).toBe(manifest.name);
    expect(app.info).toContain('It is open with the model it was kept with');
    expect(app.editIssues).toMatchObject([{ row: 2, col: own, text: 'broken' }]);
    expect(app.results?.rows).toBe(golden.wafers.length);
  });

  test('an engine restart opens the bundle in use again before reloading the file and its edits', async () => {
    const { app, kill } = await startedApp();
    await app.useBundle(bundle());
    expect(await app.loadFile(fileFromText(fixture.wafersCsv, 'wafers.csv'), { keepEdits: false })).toBe(true);
    const own = app.summary?.columns.findIndex((c) => c.header === fixture.ownSensor) ?? -1;
    await app.setCell(1, own, 'broken');
    kill('test');
    expect(app.engineState).toBe('error');
    await app.restartEngine();
    expect(app.engineState).toBe('ready');
    expect(app.model?.name).toBe(manifest.name);
    expect(app.summary?.columns.filter((c) => c.role === 'feature').length).toBe(N);
    expect(app.editCount).toBe(1);
    expect(app.info).toBe('Engine restarted: wafers.csv reloaded and your edit re-applied.');
  });

  test('a session kept with another version of the shipped model is read against the active one, and says so', async () => {
    const sessionStore = memorySessionStore();
    await sessionStore.writeFile(fileFromDisk(SAMPLE), T, { name: 'SECOM wafer fault detector (XGBoost)', version: '0.9.0', sha256: 'ab'.repeat(32), source: { kind: 'shipped' }, bundle: null });
    await sessionStore.writeEdits({ edits: [{ row: 1, col: 60, text: '7' }], edited: ['1:60'], issues: [], threshold: T });
    const { app } = await startedApp({ sessionStore });
    await until(() => app.storedOffer !== null);
    expect(app.storedOffer?.otherModel).toBe('SECOM wafer fault detector (XGBoost) 0.9.0 (shipped with the page then)');
    await app.restoreStoredSession();
    expect(app.info).toContain(`It was kept with SECOM wafer fault detector (XGBoost) 0.9.0 (shipped with the page then); it was read against ${modelJson.name} ${modelJson.version} (shipped with the page)`);
    expect(app.editCount).toBe(1);
    expect((await sessionStore.read())?.model?.version).toBe(modelJson.version);
  });
});

describe('another model when the shipped one could not be loaded', () => {
  test('a bundle still works: the engine becomes ready with it, files are read, and there is no way back to a shipped model that is not there', async () => {
    const fixture = bundleFixture(root);
    const engine = createEngine({ fetch: async () => new Response('not found', { status: 404, statusText: 'Not Found' }) });
    const app = new AppState({
      createBridge: () => new RecordingBridge(engine),
      modelUrls: () => ({ modelJson: 'https://example.invalid/models/model.json', modelDir: 'https://example.invalid/models/' }),
      fetchSample: async () => fileFromDisk(SAMPLE),
      saveBlob: () => undefined,
    });
    app.startEngine();
    await until(() => app.engineState === 'error');
    expect(app.engineMessage).toContain('Could not download the model description');
    expect(app.canSwitchModel).toBe(true);
    expect(await app.useBundle(fixture.names.map((n) => fileFromDisk(`${BUNDLE_DIR}/${n}`)))).toBe(true);
    expect(app.engineState).toBe('ready');
    expect(app.model?.name).toBe(fixture.manifest.name);
    expect(app.shippedAvailable).toBe(false);
    expect(await app.loadFile(fileFromText(fixture.wafersCsv, 'wafers.csv'), { keepEdits: false })).toBe(true);
    expect(app.results?.rows).toBe(fixture.golden.wafers.length);
    expect(await app.useShippedModel()).toBe(false);
    expect(app.modelError).toContain('The shipped model is not available: it could not be loaded when the page started');
    expect(app.summary?.rows).toBe(fixture.golden.wafers.length);
  });
});

describe('the wafer explanation panel and the top_sensors download', () => {
  const probe = (JSON.parse(readFileSync(path('public/models/golden.json'), 'utf8')) as { edit_probe: { row: number; feature: string; value: string; probability: number } }).edit_probe;

  test('explainWafer opens a wafer, follows an edit of it, and a new file closes it', async () => {
    const { app } = await startedApp();
    expect(app.canExplain).toBe(true);
    await app.loadSample();
    await app.explainWafer(probe.row);
    expect(app.explainedRow).toBe(probe.row);
    const before = app.explanation;
    expect(before?.row).toBe(probe.row);
    await app.setCell(probe.row, modelJson.features.indexOf(probe.feature) + 1, probe.value);
    await until(() => app.explanation !== null && app.explanation !== before);
    expect(app.explanation?.probability).toBeCloseTo(probe.probability, 5);
    expect(app.explanation?.contributions.find((c) => c.sensor === probe.feature)?.value).toBeCloseTo(Number(probe.value), 4);
    await app.discardEditsAndSwitch(); // nothing pending: a no-op
    await app.loadFile(fileFromDisk(SAMPLE), { keepEdits: false });
    expect(app.explainedRow).toBeNull();
    expect(app.explanation).toBeNull();
  });

  test('a row out of range is not opened; close forgets the wafer', async () => {
    const { app, bridges } = await startedApp();
    await app.loadSample();
    bridges[0]!.calls = [];
    await app.explainWafer(100);
    expect(app.explainedRow).toBeNull();
    expect(bridges[0]!.calls).toEqual([]);
    await app.explainWafer(0);
    app.closeExplanation();
    expect(app.explanation).toBeNull();
  });

  test('the panel switches with the answer: the last wafer asked for wins, and a close meanwhile keeps it closed', async () => {
    const { app } = await startedApp();
    await app.loadSample();
    await Promise.all([app.explainWafer(3), app.explainWafer(5)]);
    expect(app.explainedRow).toBe(5);
    expect(app.explanation?.row).toBe(5);
    const asked = app.explainWafer(7);
    expect(app.explanation?.row).toBe(5); // still the open wafer until the answer comes
    app.closeExplanation();
    await asked;
    expect(app.explainedRow).toBeNull();
    expect(app.explanation).toBeNull();
  });

  test('the download has top_sensors only when asked', async () => {
    const { app, saved } = await startedApp();
    await app.loadSample();
    await app.download(false);
    app.topSensors = true;
    await app.download(false);
    const [plain, withTop] = await Promise.all(saved.map((s) => s.blob.text()));
    expect(plain?.split('\n')[0]).not.toContain('top_sensors');
    expect(withTop?.split('\n')[0]).toBe(`${plain?.split('\n')[0]},top_sensors`);
  });
});
