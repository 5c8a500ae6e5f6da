// `npm run bench`: builds the production site (and the benchmark-only page), serves both, and measures the app in
// headless Chromium on generated SECOM-shaped files. Prints one markdown table and writes bench/results/latest.{json,md}.
// Flags: --sizes 1000,10000,100000  --batches 30x100,10x10000 (folders of files × wafers)  --only-batches  --runs N (default 3)
// --skip-build  --cli-rows N (the command-line tool's file: 185000 wafers ≈ 1 GB by default, 0 to skip it; bench/cli.mjs)
// --load-runs N (default 5; 0 skips)  --load-only
// Every figure is the median over the runs. Nothing here asserts timings.
// Load time as users meet it (first visit on a throttled link, repeat visit from the service worker): bench/load.mjs.
import { execSync } from 'node:child_process';
import { createReadStream, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, platform, release } from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { previewServer } from '../scripts/preview-server.mjs';
import { unzipSync } from 'fflate';
import { generate, generateFolder } from './generate.mjs';
import { loadTimes } from './load.mjs';
import { ortNodeInference } from './ort-node.mjs';
import { cliBench, cliMarkdown } from './cli.mjs';

const rootDir = new URL('../', import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000,100000' },
    runs: { type: 'string' },
    'skip-build': { type: 'boolean', default: false },
    batches: { type: 'string', default: '30x100,10x10000' },
    'only-batches': { type: 'boolean', default: false },
    'cli-rows': { type: 'string', default: '185000' },
    'load-runs': { type: 'string', default: '5' },
    'load-only': { type: 'boolean', default: false },
  },
});
const loadRuns = Number(args['load-runs']);
const sizes = args['only-batches'] ? [] : args.sizes.split(',').map((s) => Number(s.trim())).filter((n) => n > 0);
const batches = args.batches
  .split(',')
  .map((b) => b.trim().split('x').map(Number))
  .filter(([f, r]) => f > 0 && r > 0)
  .map(([files, rows]) => ({ files, rows }));
const runsFor = () => (args.runs ? Number(args.runs) : 3);
const executablePath = process.env.PW_CHROMIUM || '/usr/bin/chromium';
// The same flags as the end-to-end tests (see playwright.config.ts).
const launchArgs = JSON.parse(readFileSync(new URL('../scripts/chromium-args.json', import.meta.url), 'utf8'));
const APP_BASE = '/sensor-fault-detection/';
const BENCH_BASE = '/bench/';
const model = JSON.parse(readFileSync(`${rootDir}public/models/model.json`, 'utf8'));
const golden = JSON.parse(readFileSync(`${rootDir}public/models/golden.json`, 'utf8'));

const log = (...a) => console.error('[bench]', ...a);
const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

/** Renderer processes of a launched browser, from CDP SystemInfo.getProcessInfo (the page and its dedicated worker share one). */
async function rendererPids(browser) {
  const session = await browser.newBrowserCDPSession();
  try {
    const { processInfo } = await session.send('SystemInfo.getProcessInfo');
    return processInfo.filter((p) => p.type === 'renderer').map((p) => p.id);
  } finally {
    await session.detach().catch(() => undefined);
  }
}

/** Max VmHWM (peak resident set) and VmRSS over the browser's renderer processes (/proc/<pid>/status), in bytes. */
async function rendererMemory(browser) {
  let hwm = 0;
  let rss = 0;
  for (const pid of await rendererPids(browser)) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
      hwm = Math.max(hwm, kb('VmHWM'));
      rss = Math.max(rss, kb('VmRSS'));
    } catch {}
  }
  return { hwm, rss };
}

async function launch() {
  const browser = await chromium.launch({ executablePath, args: launchArgs, headless: true });
  return { browser };
}

/** Page-side instrumentation, installed before any app script runs. */
function instrument() {
  const w = /** @type {any} */ (window);
  const b = (w.__bench = { marks: {}, longtasks: [] });
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) b.longtasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  } catch {}
  document.addEventListener('change', (e) => {
    const t = /** @type {HTMLElement} */ (e.target);
    if (t?.dataset?.testid === 'file-input' || t?.dataset?.testid === 'folder-input') {
      b.marks.change = performance.now();
      b.marks.scored = undefined;
      b.marks.drift = undefined;
    }
  }, true);
  new MutationObserver(() => {
    if (b.marks.ready === undefined && document.querySelector('[data-testid=engine-status][data-state=ready]')) b.marks.ready = performance.now();
    if (b.marks.change !== undefined && b.marks.scored === undefined) {
      const s = /** @type {HTMLElement | null} */ (document.querySelector('[data-testid=summary]'));
      if (s && s.dataset.rows && s.dataset.scored === s.dataset.rows && Number(s.dataset.rows) === b.expectRows) b.marks.scored = performance.now();
    }
    // The drift report of this file on screen (the engine computes it after the load, when the page asks).
    if (b.marks.change !== undefined && b.marks.drift === undefined) {
      const d = /** @type {HTMLElement | null} */ (document.querySelector('[data-testid=drift-report]'));
      if (d && Number(d.dataset.rows) === b.expectRows) b.marks.drift = performance.now();
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state', 'data-scored', 'data-rows'] });
}

/** Candidate edits that should move a row's probability (the golden probe first). */
function editCandidates() {
  const list = [];
  const probe = golden.edit_probe;
  if (probe) list.push({ feature: probe.feature, value: String(probe.value) });
  const feats = model.features.filter((f) => model.sensors?.[f]?.p01 != null);
  for (const f of feats.slice(0, 40)) {
    const s = model.sensors[f];
    list.push({ feature: f, value: String(s.max + 10 * (s.max - s.min + 1)) });
    list.push({ feature: f, value: String(s.min - 10 * (s.max - s.min + 1)) });
  }
  return list;
}

/** One cell edit: dblclick, type, Enter → the row's probability text changes. Timed in the page. */
async function measureEdit(page) {
  const candidates = editCandidates();
  for (const cand of candidates.slice(0, 12)) {
    const col = model.features.indexOf(cand.feature) + 1; // file column: the id column comes first
    await page.locator('[data-testid=grid]').evaluate((el, c) => {
      el.scrollLeft = Math.max(0, (c - 3) * 110);
    }, col);
    const cell = page.locator(`[data-testid=grid-cell][data-row="0"][data-col="${col}"]`);
    try {
      await cell.waitFor({ timeout: 5000 });
    } catch {
      continue;
    }
    await cell.dblclick();
    const editor = page.getByTestId('cell-editor');
    try {
      // The grid opens no editor on a cell whose text is not in its window yet: try the next candidate.
      await editor.waitFor({ timeout: 5000 });
    } catch {
      continue;
    }
    await editor.fill(cand.value);
    await page.evaluate(() => {
      const w = /** @type {any} */ (window);
      const probText = () => document.querySelector('[data-testid=row-probability][data-row="0"]')?.textContent ?? '';
      const before = probText();
      w.__edit = { before, t0: undefined, t1: undefined };
      const ed = document.querySelector('[data-testid=cell-editor]');
      ed?.addEventListener('keydown', (e) => {
        if (/** @type {KeyboardEvent} */ (e).key === 'Enter') w.__edit.t0 = performance.now();
      }, { capture: true, once: true });
      const mo = new MutationObserver(() => {
        if (w.__edit.t0 !== undefined && probText() !== before) {
          w.__edit.t1 = performance.now();
          mo.disconnect();
        }
      });
      mo.observe(document.querySelector('[data-testid=grid]') ?? document, { subtree: true, childList: true, characterData: true });
    });
    await editor.press('Enter');
    try {
      await page.waitForFunction(() => /** @type {any} */ (window).__edit.t1 !== undefined, null, { timeout: 4000 });
      const e = await page.evaluate(() => /** @type {any} */ (window).__edit);
      return { ms: e.t1 - e.t0, feature: cand.feature, value: cand.value };
    } catch {
      // This edit did not move the probability; try the next one.
    }
  }
  return { ms: null };
}

/**
 * One wafer explained, as the user sees it: a click on a wafer's name → the panel shows its P(fail) and
 * contributions (the worker's TreeSHAP, the round trip and the render). Timed in the page, for two wafers: the
 * first opening, then another wafer with the panel open.
 */
async function measureExplain(page) {
  const times = [];
  for (const row of [0, 1]) {
    await page.locator('[data-testid=grid]').evaluate((el) => {
      el.scrollLeft = 0;
      el.scrollTop = 0;
    });
    const name = page.locator(`[data-testid=row-name][data-row="${row}"]`);
    await name.waitFor({ timeout: 10000 });
    await page.evaluate((r) => {
      const w = /** @type {any} */ (window);
      w.__explain = { t0: undefined, t1: undefined };
      const shown = () => document.querySelector(`[data-testid=wafer-panel] [data-testid=wafer-panel-row]`) !== null && document.querySelector('#wafer-panel-heading')?.textContent?.includes(document.querySelector(`[data-testid=row-name][data-row="${r}"]`)?.textContent?.trim() ?? '\u0000');
      document.querySelector(`[data-testid=row-name][data-row="${r}"]`)?.addEventListener('click', () => (w.__explain.t0 = performance.now()), { capture: true, once: true });
      const mo = new MutationObserver(() => {
        if (w.__explain.t0 !== undefined && shown()) {
          w.__explain.t1 = performance.now();
          mo.disconnect();
        }
      });
      mo.observe(document.body, { subtree: true, childList: true, characterData: true });
    }, row);
    await name.click();
    await page.waitForFunction(() => /** @type {any} */ (window).__explain.t1 !== undefined, null, { timeout: 10000 });
    times.push(await page.evaluate(() => /** @type {any} */ (window).__explain.t1 - /** @type {any} */ (window).__explain.t0));
  }
  await page.getByTestId('wafer-panel-close').click();
  return { firstMs: times[0] ?? null, nextMs: times[1] ?? null };
}

/** Compare the download with the input line by line, ignoring the appended fields (2, or 3 with top_sensors). Streams both files. */
async function compareDownload(inputPath, downloadPath, appended = 2) {
  const a = createInterface({ input: createReadStream(inputPath), crlfDelay: Infinity })[Symbol.asyncIterator]();
  const b = createInterface({ input: createReadStream(downloadPath), crlfDelay: Infinity })[Symbol.asyncIterator]();
  let lines = 0;
  let mismatches = 0;
  let firstMismatch = null;
  for (;;) {
    const [x, y] = await Promise.all([a.next(), b.next()]);
    if (x.done && y.done) break;
    if (x.done !== y.done) {
      mismatches++;
      firstMismatch ??= `line ${lines + 1}: one file ended early`;
      break;
    }
    lines++;
    const out = y.value;
    // top_sensors has no comma (its parts are joined by "; "), so the appended fields are the last `appended`.
    let cut = out.length;
    for (let k = 0; k < appended; k++) cut = out.lastIndexOf(',', cut - 1);
    if (cut < 0 || out.slice(0, cut) !== x.value) {
      mismatches++;
      firstMismatch ??= `line ${lines}`;
    }
  }
  return { lines, mismatches, identical: mismatches === 0, firstMismatch };
}

/** One full user run on the production build: cold load, file → all predictions, edit, download. */
async function appRun(appUrl, path, rows, { download }) {
  const { browser } = await launch();
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    await context.addInitScript(instrument);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.goto(appUrl);
    await page.waitForFunction(() => /** @type {any} */ (window).__bench.marks.ready !== undefined, null, { timeout: 60000 });
    const coldLoadMs = await page.evaluate(() => /** @type {any} */ (window).__bench.marks.ready);
    await page.evaluate((n) => {
      /** @type {any} */ (window).__bench.expectRows = n;
    }, rows);
    let jsHeapPeak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        try {
          const { metrics } = await cdp.send('Performance.getMetrics');
          jsHeapPeak = Math.max(jsHeapPeak, metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0);
        } catch {}
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    await page.getByTestId('file-input').setInputFiles(path);
    await page.waitForFunction(() => /** @type {any} */ (window).__bench.marks.scored !== undefined, null, { timeout: 900000, polling: 250 });
    sampling = false;
    await sampler;
    await page.waitForFunction(() => /** @type {any} */ (window).__bench.marks.drift !== undefined, null, { timeout: 120000, polling: 100 });
    const b = await page.evaluate(() => /** @type {any} */ (window).__bench);
    const e2eMs = b.marks.scored - b.marks.change;
    // From all predictions shown to the drift report shown: the report's cost after the load.
    const driftMs = b.marks.drift - b.marks.scored;
    const during = b.longtasks.filter((t) => t.start >= b.marks.change - 1 && t.start <= b.marks.scored);
    const longestTaskMs = during.reduce((m, t) => Math.max(m, t.duration), 0);
    const memLoad = await rendererMemory(browser);
    const edit = await measureEdit(page);
    let downloadMs = null;
    let check = null;
    let memAfterDownload = null;
    let topDownloadMs = null;
    let topCheck = null;
    let explain = { firstMs: null, nextMs: null };
    if (download) {
      const t0 = performance.now();
      const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 600000 }), page.getByTestId('download-button').click()]);
      downloadMs = performance.now() - t0;
      memAfterDownload = (await rendererMemory(browser)).hwm;
      const dlPath = await dl.path();
      check = await compareDownload(path, dlPath);
      // The edited cell is expected to differ in its row (line 2); count the rest.
      if (edit.ms !== null && check.mismatches === 1 && check.firstMismatch === 'line 2') check = { ...check, identical: true, note: 'only the edited row differs' };
      await dl.delete().catch(() => undefined);
      explain = await measureExplain(page);
      // The same download with the top_sensors column (issue 12, point 3).
      await page.getByTestId('top-sensors-checkbox').check();
      const t1 = performance.now();
      const [dlTop] = await Promise.all([page.waitForEvent('download', { timeout: 600000 }), page.getByTestId('download-button').click()]);
      topDownloadMs = performance.now() - t1;
      topCheck = await compareDownload(path, await dlTop.path(), 3);
      if (edit.ms !== null && topCheck.mismatches === 1 && topCheck.firstMismatch === 'line 2') topCheck = { ...topCheck, identical: true, note: 'only the edited row differs' };
      await dlTop.delete().catch(() => undefined);
    }
    await context.close();
    return {
      coldLoadMs,
      e2eMs,
      driftMs,
      longTasks: during.length,
      longestTaskMs,
      editMs: edit.ms,
      edit,
      peakRendererBytes: memLoad.hwm,
      peakRendererBytesAfterDownload: memAfterDownload,
      jsHeapPeakPage: jsHeapPeak,
      downloadMs,
      check,
      explainFirstMs: explain.firstMs,
      explainNextMs: explain.nextMs,
      topDownloadMs,
      topCheck,
    };
  } finally {
    await browser.close();
  }
}

/**
 * The combined download against the folder's files, streamed: each data line is `source_file,<input line>,p,label`
 * for the files in name order (the header once, first).
 */
async function compareCombined(paths, downloadPath) {
  const out = createInterface({ input: createReadStream(downloadPath), crlfDelay: Infinity })[Symbol.asyncIterator]();
  let lines = 0;
  let mismatches = 0;
  for (const [k, path] of paths.entries()) {
    const name = path.slice(path.lastIndexOf('/') + 1);
    let first = true;
    for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
      if (first) {
        first = false;
        if (k > 0) continue;
      }
      const y = await out.next();
      lines++;
      const text = y.done ? '' : y.value;
      const prefix = lines === 1 ? 'source_file,' : `${name},`;
      const cut = text.lastIndexOf(',', text.lastIndexOf(',') - 1);
      if (!text.startsWith(prefix) || text.slice(prefix.length, cut) !== line) mismatches++;
    }
  }
  if (!(await out.next()).done) mismatches++;
  return { lines, mismatches, identical: mismatches === 0 };
}

/** A folder picked in the app: → every wafer of every file scored, then the combined CSV and the zip. */
async function batchRun(appUrl, folder, totalRows) {
  const { browser } = await launch();
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    await context.addInitScript(instrument);
    const page = await context.newPage();
    await page.goto(appUrl);
    await page.waitForFunction(() => /** @type {any} */ (window).__bench.marks.ready !== undefined, null, { timeout: 60000 });
    await page.evaluate((n) => {
      /** @type {any} */ (window).__bench.expectRows = n;
    }, totalRows);
    await page.getByTestId('folder-input').setInputFiles(folder.dir);
    await page.waitForFunction(() => /** @type {any} */ (window).__bench.marks.scored !== undefined, null, { timeout: 900000, polling: 250 });
    const b = await page.evaluate(() => /** @type {any} */ (window).__bench);
    const loadMs = b.marks.scored - b.marks.change;
    const memLoad = await rendererMemory(browser);
    const timedDownload = async (testId) => {
      const t0 = performance.now();
      const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 900000 }), page.getByTestId(testId).click()]);
      const path = await dl.path();
      return { ms: performance.now() - t0, path, bytes: statSync(path).size, dl };
    };
    const combined = await timedDownload('download-button');
    const combinedCheck = await compareCombined(folder.paths, combined.path);
    await combined.dl.delete().catch(() => undefined);
    const zip = await timedDownload('download-zip-button');
    // The entries' names only (nothing is inflated): one per input.
    const names = [];
    unzipSync(new Uint8Array(readFileSync(zip.path)), { filter: (f) => (names.push(f.name), false) });
    await zip.dl.delete().catch(() => undefined);
    const peak = (await rendererMemory(browser)).hwm;
    await context.close();
    return { loadMs, combinedMs: combined.ms, combinedBytes: combined.bytes, combinedIdentical: combinedCheck.identical, zipMs: zip.ms, zipBytes: zip.bytes, zipEntries: names.length, peakAfterLoad: memLoad.hwm, peak };
  } finally {
    await browser.close();
  }
}

async function runBatches(appUrl) {
  const out = [];
  for (const { files, rows } of batches) {
    const folder = await generateFolder(files, rows);
    const bytes = folder.paths.reduce((n, p) => n + statSync(p).size, 0);
    const runs = [];
    for (let r = 0; r < runsFor(); r++) {
      log(`batch ${files} files × ${fmt(rows)} wafers: run ${r + 1}/${runsFor()}`);
      runs.push(await batchRun(appUrl, folder, files * rows));
      const last = runs.at(-1);
      log(`  load+predict ${fmt(last.loadMs)} ms, combined ${fmt(last.combinedMs)} ms (identical ${last.combinedIdentical}), zip ${fmt(last.zipMs)} ms (${last.zipEntries} entries), peak ${fmt(mb(last.peak))} MB`);
    }
    out.push({
      files,
      rows,
      bytes,
      runs: runs.length,
      loadMs: median(runs.map((r) => r.loadMs)),
      combinedMs: median(runs.map((r) => r.combinedMs)),
      zipMs: median(runs.map((r) => r.zipMs)),
      zipBytes: median(runs.map((r) => r.zipBytes)),
      combinedIdentical: runs.every((r) => r.combinedIdentical),
      zipEntriesOk: runs.every((r) => r.zipEntries === files),
      peakRendererBytes: median(runs.map((r) => r.peak)),
      runsDetail: runs,
    });
  }
  return out;
}

function batchMarkdown(results, machine) {
  const L = [];
  L.push(`Batches (a folder picked in the app; ${machine}). Load + predict = folder chosen → every wafer of every file scored; downloads = click → file saved. Medians over the runs.`);
  L.push('');
  L.push('| files × wafers | MB | runs | load + predict ms | combined CSV ms | zip ms (MB) | combined identical | zip entries | peak renderer MB |');
  L.push('|---|---:|---:|---:|---:|---:|:---:|:---:|---:|');
  for (const r of results) {
    L.push(`| ${r.files} × ${fmt(r.rows)} | ${fmt(mb(r.bytes), 1)} | ${r.runs} | ${fmt(r.loadMs)} | ${fmt(r.combinedMs)} | ${fmt(r.zipMs)} (${fmt(mb(r.zipBytes), 1)}) | ${r.combinedIdentical ? 'yes' : 'NO'} | ${r.zipEntriesOk ? 'one per file' : 'NO'} | ${fmt(mb(r.peakRendererBytes))} |`);
  }
  return `${L.join('\n')}\n`;
}

/** Parse-only and Papa modes in the benchmark page's worker (engine splitter + engine Papa call). */
async function parseRuns(benchUrl, path, runs) {
  const { browser } = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(benchUrl);
    await page.waitForSelector('body[data-ready=true]');
    await page.locator('#file').setInputFiles(path);
    const engine = [];
    for (let r = 0; r < runs; r++) {
      // A fresh page (so a fresh, cold worker) per run, like the app runs.
      if (r > 0) {
        await page.reload();
        await page.waitForSelector('body[data-ready=true]');
        await page.locator('#file').setInputFiles(path);
      }
      engine.push(await page.evaluate(() => /** @type {any} */ (window).bench.parseOnly({ mode: 'engine' })));
    }
    const modes = {};
    for (const [name, opts] of Object.entries({
      'split+decode only (1 MB)': { mode: 'split', sliceSize: 1 << 20 },
      'Papa fastMode on, 256 KB': { mode: 'papa-fast', sliceSize: 256 << 10 },
      'Papa fastMode on, 1 MB': { mode: 'papa-fast', sliceSize: 1 << 20 },
      'Papa fastMode on, 4 MB': { mode: 'papa-fast', sliceSize: 4 << 20 },
      'Papa fastMode off, 1 MB': { mode: 'papa-slow', sliceSize: 1 << 20 },
    })) {
      modes[name] = await page.evaluate((o) => /** @type {any} */ (window).bench.parseOnly(o), opts);
    }
    return { engineMs: median(engine.map((e) => e.ms)), engineMbPerS: median(engine.map((e) => e.mbPerS)), modes };
  } finally {
    await browser.close();
  }
}

async function inferenceRuns(benchUrl, runs) {
  const { browser } = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(benchUrl);
    await page.waitForSelector('body[data-ready=true]');
    const res = [];
    for (let r = 0; r < runs; r++) res.push(await page.evaluate(() => /** @type {any} */ (window).bench.inference({ rows: 20000 })));
    return { rowsPerS: median(res.map((x) => x.rowsPerS)), oneRowMs: median(res.map((x) => x.oneRowMs)), createMs: median(res.map((x) => x.createMs)), rows: 20000 };
  } finally {
    await browser.close();
  }
}

const fmt = (x, d = 0) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
const mb = (bytes) => bytes / 1e6;

async function main() {
  const started = performance.now();
  const loadAtStart = loadavg()[0];
  const files = [];
  for (const rows of args['load-only'] ? [] : sizes) {
    const path = await generate(rows);
    files.push({ rows, path, bytes: statSync(path).size });
    log(`${path}: ${fmt(mb(statSync(path).size), 1)} MB`);
  }
  if (!args['skip-build']) {
    log('building the production site (vite build) and the benchmark page');
    execSync('npx vite build', { cwd: rootDir, stdio: ['ignore', 'ignore', 'inherit'] });
    if (!args['load-only']) execSync('npx vite build -c bench/vite.bench.config.ts', { cwd: rootDir, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  // First: the load over a throttled link, on its own (Pages-like) server, before the big files heat the machine.
  let load = null;
  if (loadRuns > 0 && !args['only-batches']) {
    log(`load time: first visit at 20 Mbit/s, 40 ms RTT, and repeat visit from the service worker (${loadRuns} runs)`);
    load = await loadTimes({ runs: loadRuns });
  }
  if (load) writeLoadResults({ machine: machineInfo(loadAtStart, load.chromium), load });
  if (args['load-only']) return;
  const app = await previewServer('dist', APP_BASE);
  const bench = await previewServer('bench/dist', BENCH_BASE);
  let chromiumVersion = '';
  try {
    const { browser } = await launch();
    chromiumVersion = browser.version();
    await browser.close();

    if (batches.length > 0) {
      const batchResults = await runBatches(app.url);
      const md = batchMarkdown(batchResults, `Chromium ${chromiumVersion}, ${cpus().length} cores, ${new Date().toISOString().slice(0, 10)}, 1-min load average ${fmt(loadavg()[0], 1)}`);
      mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
      writeFileSync(new URL('./results/batch-latest.json', import.meta.url), `${JSON.stringify(batchResults, null, 2)}\n`);
      writeFileSync(new URL('./results/batch-latest.md', import.meta.url), md);
      console.log(md);
    }
    if (files.length === 0) return;
    const results = [];
    for (const f of files) {
      const runs = runsFor(f.rows);
      log(`${f.rows} wafers: parse-only (${runs} runs) and Papa modes`);
      const parse = await parseRuns(bench.url, f.path, runs);
      const appRuns = [];
      for (let r = 0; r < runs; r++) {
        log(`${f.rows} wafers: app run ${r + 1}/${runs}`);
        appRuns.push(await appRun(app.url, f.path, f.rows, { download: true }));
        const last = appRuns.at(-1);
        log(`  e2e ${fmt(last.e2eMs)} ms, drift report +${fmt(last.driftMs)} ms, longest task ${fmt(last.longestTaskMs)} ms, edit ${fmt(last.editMs, 1)} ms, peak ${fmt(mb(last.peakRendererBytes))} MB, download ${fmt(last.downloadMs)} ms, identical ${last.check?.identical}`);
      }
      const e2eMs = median(appRuns.map((a) => a.e2eMs));
      results.push({
        rows: f.rows,
        bytes: f.bytes,
        runs,
        coldLoadMs: median(appRuns.map((a) => a.coldLoadMs)),
        parseOnlyMs: parse.engineMs,
        parseOnlyMbPerS: parse.engineMbPerS,
        papaModes: parse.modes,
        e2eMs,
        e2eMbPerS: mb(f.bytes) / (e2eMs / 1000),
        driftMs: median(appRuns.map((a) => a.driftMs)),
        e2eOverParse: e2eMs / parse.engineMs,
        longestTaskMs: median(appRuns.map((a) => a.longestTaskMs)),
        longestTaskMsMax: Math.max(...appRuns.map((a) => a.longestTaskMs)),
        editMs: median(appRuns.map((a) => a.editMs)),
        peakRendererBytes: median(appRuns.map((a) => a.peakRendererBytes)),
        peakRendererBytesAfterDownload: median(appRuns.map((a) => a.peakRendererBytesAfterDownload)),
        jsHeapPeakPage: median(appRuns.map((a) => a.jsHeapPeakPage)),
        downloadMs: median(appRuns.map((a) => a.downloadMs)),
        downloadIdentical: appRuns.every((a) => a.check?.identical),
        explainFirstMs: median(appRuns.map((a) => a.explainFirstMs)),
        explainNextMs: median(appRuns.map((a) => a.explainNextMs)),
        topDownloadMs: median(appRuns.map((a) => a.topDownloadMs)),
        topOverPlain: median(appRuns.map((a) => (a.topDownloadMs !== null && a.downloadMs ? a.topDownloadMs / a.downloadMs : null))),
        topDownloadIdentical: appRuns.every((a) => a.topCheck?.identical),
        runsDetail: appRuns,
      });
    }
    log('inference alone (worker, onnxruntime-web) and onnxruntime-node');
    const inference = await inferenceRuns(bench.url, 3);
    const ortNode = [];
    for (let r = 0; r < 3; r++) ortNode.push(await ortNodeInference({ rows: 20000, threads: 1 }));
    const ortNodeRowsPerS = median(ortNode.map((x) => x?.rowsPerS ?? null));

    const machine = machineInfo(loadAtStart, chromiumVersion);
    const cliRows = Number(args['cli-rows']);
    const cli = cliRows > 0 ? await cliBench({ rows: cliRows, runs: runsFor(), log }) : [];
    const totalS = (performance.now() - started) / 1000;
    const report = { machine, sizes, results, inference: { ...inference, ortNodeRowsPerS }, load, cli, benchSeconds: totalS };
    const md = markdown(report);
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    writeFileSync(new URL('./results/latest.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(new URL('./results/latest.md', import.meta.url), md);
    console.log(md);
  } finally {
    app.child.kill();
    bench.child.kill();
  }
}

function machineInfo(loadAtStart, chromiumVersion) {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
    chromium: chromiumVersion,
    date: new Date().toISOString(),
    loadAverage1mAtStart: loadAtStart,
    loadAverage1mAtEnd: loadavg()[0],
  };
}

/** The load-time figures alone, in bench/results/load-latest.{json,md} (also part of a full run's latest.md). */
function writeLoadResults(report) {
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const md = `${machineLine(report.machine)}\n\n${loadMarkdown(report.load).join('\n')}\n`;
  writeFileSync(new URL('./results/load-latest.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(new URL('./results/load-latest.md', import.meta.url), md);
  console.log(md);
}

function machineLine(machine) {
  return `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}, Chromium ${machine.chromium} (headless), ${machine.date.slice(0, 10)}; 1-min load average ${fmt(machine.loadAverage1mAtStart, 1)} at start, ${fmt(machine.loadAverage1mAtEnd, 1)} at end (other work on the machine skews the figures).`;
}

function loadMarkdown(load) {
  if (!load) return [];
  const { mbps, rttMs } = load.link;
  const row = (name, v, goal, goalMs) =>
    `| ${name} | ${fmt(v.usableMs)} | ${fmt(v.readyMs)} (${fmt(v.readyMsRange[0])}–${fmt(v.readyMsRange[1])}) | ${fmt(v.bytes / 1e6, 2)} | ${goal}: ${v.readyMs <= goalMs ? 'met' : 'MISSED'} |`;
  return [
    `Load time as users meet it (${load.runs} runs, medians; \`bench/load.mjs\`): the build served like GitHub Pages (gzip incl. application/wasm, \`max-age=600\`), the link shaped by Chromium (CDP \`Network.emulateNetworkConditions\`: ${mbps} Mbit/s, ${rttMs} ms RTT). Usable = the drop zone and "Try a sample" work; ready = the model is loaded (engine-status ready). First visit: a new profile, HTTP cache disabled; repeat visit: the browser restarted on that profile, the service worker answering.`,
    '',
    '| visit | usable ms | ready ms (range) | MB on the wire | goal |',
    '|---|---:|---:|---:|---|',
    row(`first, ${mbps} Mbit/s`, load.firstVisit, 'ready ≤ 2,500 ms', 2500),
    row('repeat (service worker)', load.repeatVisit, 'ready ≤ 600 ms', 600),
    '',
    `First visit with a 1,000-wafer file (5.4 MB) given as soon as the page is usable: all predictions shown at ${fmt(load.fileAtUsable.predictionsMs)} ms (usable ${fmt(load.fileAtUsable.usableMs)} ms, model ready ${fmt(load.fileAtUsable.readyMs)} ms): the file is read while the wasm arrives and scored once the model is ready.`,
  ];
}

function markdown({ machine, results, inference, load, cli, benchSeconds }) {
  const L = [];
  L.push(machineLine(machine));
  L.push('Medians over the runs. Parse-only = the engine\'s splitter + PapaParse in a worker, nothing else. Peak memory = VmHWM of the Chromium renderer process (page + its worker, includes ArrayBuffers and WASM memory).');
  L.push('');
  L.push(`| wafers | file MB | runs | cold load → ready ms | parse-only ms (MB/s) | end-to-end ms (MB/s) | e2e ÷ parse | drift report after the load ms | longest main-thread task ms | edit → new prediction ms | peak renderer MB (× file) | download ms | download identical |`);
  L.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|');
  for (const r of results) {
    L.push(
      `| ${fmt(r.rows)} | ${fmt(mb(r.bytes), 1)} | ${r.runs} | ${fmt(r.coldLoadMs)} | ${fmt(r.parseOnlyMs)} (${fmt(r.parseOnlyMbPerS, 1)}) | ${fmt(r.e2eMs)} (${fmt(r.e2eMbPerS, 1)}) | ${fmt(r.e2eOverParse, 2)} | ${fmt(r.driftMs)} | ${r.longestTaskMs > 0 ? fmt(r.longestTaskMs) : '< 50 (none)'} | ${fmt(r.editMs, 1)} | ${fmt(mb(r.peakRendererBytes))} (${fmt(r.peakRendererBytes / r.bytes, 2)}) | ${fmt(r.downloadMs)} | ${r.downloadIdentical ? 'yes' : 'NO'} |`,
    );
  }
  L.push('');
  L.push('Explanations (issue 12): one wafer explained = click on its name → the panel shows its contributions (worker TreeSHAP + round trip + render), the first opening and then another wafer; the download with `top_sensors` against the plain one (same page, same threshold).');
  L.push('');
  L.push('| wafers | one wafer explained ms (first / next) | download ms | download with top_sensors ms | ÷ plain | original columns identical |');
  L.push('|---:|---:|---:|---:|---:|:---:|');
  for (const r of results) {
    L.push(`| ${fmt(r.rows)} | ${fmt(r.explainFirstMs, 1)} / ${fmt(r.explainNextMs, 1)} | ${fmt(r.downloadMs)} | ${fmt(r.topDownloadMs)} | ${fmt(r.topOverPlain, 2)} | ${r.topDownloadIdentical ? 'yes' : 'NO'} |`);
  }
  L.push('');
  L.push('Papa modes (one run each after the parse-only runs, in a warm worker; MB/s; same splitter and read-ahead):');
  L.push('');
  const modeNames = Object.keys(results[0]?.papaModes ?? {});
  L.push(`| wafers | ${modeNames.join(' | ')} |`);
  L.push(`|---:|${modeNames.map(() => '---:').join('|')}|`);
  for (const r of results) L.push(`| ${fmt(r.rows)} | ${modeNames.map((n) => fmt(r.papaModes[n].mbPerS, 1)).join(' | ')} |`);
  L.push('');
  L.push(`Inference alone (${fmt(inference.rows)} rows, 5k-row Float32Array batches): onnxruntime-web WASM in the worker ${fmt(inference.rowsPerS)} rows/s (one row: ${inference.oneRowMs < 0.1 ? '< 0.1' : fmt(inference.oneRowMs, 2)} ms; session create ${fmt(inference.createMs)} ms); onnxruntime-node 1.30.0 (1 thread) ${fmt(inference.ortNodeRowsPerS)} rows/s.`);
  L.push('');
  const t = (ok) => (ok ? 'met' : 'MISSED');
  const big = results.filter((r) => r.rows >= 10000);
  const r100 = results.find((r) => r.rows >= 100000);
  L.push('Targets:');
  if (big.length) L.push(`- end-to-end ≤ 1.3 × parse-only at ≥ 10k: ${big.map((r) => `${fmt(r.rows)}: ${fmt(r.e2eOverParse, 2)} ${t(r.e2eOverParse <= 1.3)}`).join('; ')}`);
  L.push(`- cold load ≤ 1500 ms: ${results.map((r) => `${fmt(r.coldLoadMs)} ${t(r.coldLoadMs <= 1500)}`).join('; ')}`);
  if (r100) {
    L.push(`- longest main-thread task < 100 ms during the 100k load: ${fmt(r100.longestTaskMsMax)} ms (max over runs) ${t(r100.longestTaskMsMax < 100)}`);
    L.push(`- edit → new prediction < 100 ms (100k loaded): ${fmt(r100.editMs, 1)} ms ${t(r100.editMs !== null && r100.editMs < 100)}`);
    L.push(`- drift report for 100k wafers < 1 s after the load: ${fmt(r100.driftMs)} ms ${t(r100.driftMs !== null && r100.driftMs < 1000)}`);
    L.push(`- one wafer explained < 20 ms (100k loaded, another wafer with the panel open): ${fmt(r100.explainNextMs, 1)} ms ${t(r100.explainNextMs !== null && r100.explainNextMs < 20)} (first opening ${fmt(r100.explainFirstMs, 1)} ms)`);
    L.push(`- 100k download with top_sensors ≤ 1.5 × the plain download: ${fmt(r100.topOverPlain, 2)} × ${t(r100.topOverPlain !== null && r100.topOverPlain <= 1.5)}`);
    L.push(`- 100k completes, peak ≤ 2 × file (${fmt(mb(2 * r100.bytes))} MB): ${fmt(mb(r100.peakRendererBytes))} MB ${t(r100.peakRendererBytes <= 2 * r100.bytes)} (after the download: ${fmt(mb(r100.peakRendererBytesAfterDownload ?? 0))} MB); download byte-identical in the original columns: ${r100.downloadIdentical ? 'met' : 'MISSED'}`);
  }
  if (cli.length > 0) {
    L.push('');
    L.push(cliMarkdown(cli));
    L.push(`- command-line tool ≥ 100 MB/s and ≤ 300 MB peak RSS on the ≈ 1 GB file: ${cli.map((r) => `${r.mode}: ${fmt(r.mbPerS, 1)} MB/s ${t(r.mbPerS >= 100)}, ${fmt(mb(r.maxRssBytes))} MB ${t(r.maxRssBytes <= 300e6)}`).join('; ')}`);
  }
  L.push('');
  if (load) L.push(...loadMarkdown(load), '');
  L.push(`One full run of this benchmark took ${fmt(benchSeconds / 60, 1)} min.`);
  return `${L.join('\n')}\n`;
}

await main();
