// Load time as users meet it: the first visit over a throttled link and the repeat visit served by the service
// worker. The production build is served the way GitHub Pages serves it (bench/pages-server.mjs: gzip, cache
// headers, the sub-path); the link is shaped by Chromium itself through the DevTools Protocol
// (Network.emulateNetworkConditions on the page's target, which also shapes what its dedicated workers fetch — the
// onnxruntime wasm and the model: checked at 5 Mbit/s, the 3.7 MB wasm then takes 6.2 s). Nothing here asserts timings.
//
//   usable: navigation start → the drop zone and "Try a sample" can be used (the app is rendered, the engine
//           need not be ready: a file given then waits for the model).
//   ready:  navigation start → `engine-status` data-state=ready (model.json, the ONNX file and the wasm fetched,
//           sha256 checked, the onnxruntime session created and warmed up): the model scores at once.
//   file at usable → predictions: a third visit (new profile) gives a 1,000-wafer file as soon as the page is usable
//           and times navigation start → every wafer scored. The file is read while the wasm still arrives.
//
// The first visit starts from a new browser profile; the repeat visit restarts the browser on that profile.
//
// Standalone: node bench/load.mjs [--runs 5] [--skip-build] [--mbps 20] [--rtt 40]
import { execSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { generate } from './generate.mjs';
import { pagesServer } from './pages-server.mjs';

const rootDir = new URL('../', import.meta.url).pathname;
const APP_BASE = '/sensor-fault-detection/';
const executablePath = process.env.PW_CHROMIUM || '/usr/bin/chromium';
const launchArgs = JSON.parse(readFileSync(new URL('../scripts/chromium-args.json', import.meta.url), 'utf8'));
const log = (...a) => console.error('[bench:load]', ...a);

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

/** Page-side marks (performance.now(), from the navigation's start), installed before any app script. */
function marks() {
  const m = (/** @type {any} */ (window).__load = {});
  new MutationObserver(() => {
    const sample = /** @type {HTMLButtonElement | null} */ (document.querySelector('[data-testid=sample-button]'));
    if (m.usable === undefined && sample && !sample.disabled && document.querySelector('[data-testid=file-input]')) m.usable = performance.now();
    if (m.ready === undefined && document.querySelector('[data-testid=engine-status][data-state=ready]')) m.ready = performance.now();
    const summary = /** @type {HTMLElement | null} */ (document.querySelector('[data-testid=summary]'));
    if (m.scored === undefined && summary?.dataset.rows && summary.dataset.scored === summary.dataset.rows) m.scored = performance.now();
  }).observe(document, { subtree: true, childList: true, attributes: true });
}

/** Shape the page's link (its workers' fetches included) and, for a first visit, keep the HTTP cache out. */
async function throttle(page, conditions, { cacheDisabled }) {
  const session = await page.context().newCDPSession(page);
  await session.send('Network.enable');
  await session.send('Network.setCacheDisabled', { cacheDisabled });
  await session.send('Network.emulateNetworkConditions', conditions);
  return session;
}

function conditionsFor({ mbps, rttMs }) {
  const bytesPerS = (mbps * 1e6) / 8;
  return { offline: false, latency: rttMs, downloadThroughput: bytesPerS, uploadThroughput: bytesPerS };
}

async function visit(page, url, server) {
  const before = server.bytesSent();
  await page.goto(url, { waitUntil: 'commit' });
  await page.waitForFunction(() => /** @type {any} */ (window).__load.ready !== undefined, null, { timeout: 120_000, polling: 50 });
  const m = await page.evaluate(() => /** @type {any} */ (window).__load);
  return { usableMs: m.usable ?? null, readyMs: m.ready, bytes: server.bytesSent() - before };
}

/** A browser with its own profile folder: the service worker and its cache outlive a restart, as on a user's machine. */
async function openProfile(profileDir) {
  const context = await chromium.launchPersistentContext(profileDir, { executablePath, args: launchArgs, headless: true, viewport: { width: 1280, height: 800 } });
  await context.addInitScript(marks);
  return context;
}

/** A first visit that gives `filePath` as soon as the page is usable: navigation start → every wafer scored. */
async function fileAtUsable(url, conditions, filePath) {
  const profileDir = mkdtempSync(join(tmpdir(), 'sfd-load-'));
  try {
    const context = await openProfile(profileDir);
    const page = await context.newPage();
    await throttle(page, conditions, { cacheDisabled: true });
    await page.goto(url, { waitUntil: 'commit' });
    await page.waitForFunction(() => /** @type {any} */ (window).__load.usable !== undefined, null, { timeout: 60_000, polling: 20 });
    await page.getByTestId('file-input').setInputFiles(filePath);
    await page.waitForFunction(() => /** @type {any} */ (window).__load.scored !== undefined, null, { timeout: 120_000, polling: 50 });
    const m = await page.evaluate(() => /** @type {any} */ (window).__load);
    await context.close();
    return { usableMs: m.usable, readyMs: m.ready, predictionsMs: m.scored };
  } finally {
    rmSync(profileDir, { recursive: true, force: true });
  }
}

/**
 * One first visit (a new profile: no cache, no service worker) and one repeat visit (the browser restarted on that
 * profile, so the service worker answers and nothing is warm in memory).
 */
async function oneRun(url, server, link) {
  const profileDir = mkdtempSync(join(tmpdir(), 'sfd-load-'));
  const conditions = conditionsFor(link);
  try {
    let context = await openProfile(profileDir);
    const first = await context.newPage();
    await throttle(first, conditions, { cacheDisabled: true });
    const firstVisit = await visit(first, url, server);
    // The service worker registers once the model is loaded and precaches in the background.
    await first.getByTestId('offline-ready').waitFor({ timeout: 120_000 });
    await context.close();

    context = await openProfile(profileDir);
    const second = await context.newPage();
    await throttle(second, conditions, { cacheDisabled: false });
    const repeatVisit = await visit(second, url, server);
    repeatVisit.fromServiceWorker = await second.evaluate(() => navigator.serviceWorker.controller !== null);
    await context.close();
    return { firstVisit, repeatVisit };
  } finally {
    rmSync(profileDir, { recursive: true, force: true });
  }
}

/** Median first- and repeat-visit times over `runs` fresh browsers; the build in dist/ must exist. */
export async function loadTimes({ runs = 5, mbps = 20, rttMs = 40 } = {}) {
  const filePath = await generate(1000);
  const server = await pagesServer(`${rootDir}dist`, APP_BASE);
  const browser = await chromium.launch({ executablePath, args: launchArgs, headless: true });
  const chromiumVersion = browser.version();
  await browser.close();
  try {
    const all = [];
    for (let r = 0; r < runs; r++) {
      const run = await oneRun(server.url, server, { mbps, rttMs });
      run.fileAtUsable = await fileAtUsable(server.url, conditionsFor({ mbps, rttMs }), filePath);
      all.push(run);
      const { firstVisit: f, repeatVisit: v, fileAtUsable: u } = run;
      log(`run ${r + 1}/${runs}: first visit usable ${Math.round(f.usableMs)} ms, ready ${Math.round(f.readyMs)} ms (${(f.bytes / 1e6).toFixed(2)} MB); repeat usable ${Math.round(v.usableMs)} ms, ready ${Math.round(v.readyMs)} ms (${v.bytes} B, service worker ${v.fromServiceWorker}); 1k file at usable → predictions ${Math.round(u.predictionsMs)} ms`);
    }
    const pick = (visitName, key) => median(all.map((run) => run[visitName][key]));
    const summary = (visitName) => ({
      usableMs: pick(visitName, 'usableMs'),
      readyMs: pick(visitName, 'readyMs'),
      readyMsRange: [Math.min(...all.map((run) => run[visitName].readyMs)), Math.max(...all.map((run) => run[visitName].readyMs))],
      bytes: pick(visitName, 'bytes'),
    });
    const fileRuns = all.map((run) => run.fileAtUsable);
    const fileAtUsableSummary = {
      rows: 1000,
      usableMs: median(fileRuns.map((u) => u.usableMs)),
      readyMs: median(fileRuns.map((u) => u.readyMs)),
      predictionsMs: median(fileRuns.map((u) => u.predictionsMs)),
    };
    return { chromium: chromiumVersion, link: { mbps, rttMs }, runs, firstVisit: summary('firstVisit'), repeatVisit: summary('repeatVisit'), fileAtUsable: fileAtUsableSummary, runsDetail: all };
  } finally {
    await server.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '5' }, 'skip-build': { type: 'boolean', default: false }, mbps: { type: 'string', default: '20' }, rtt: { type: 'string', default: '40' } },
  });
  if (!values['skip-build']) execSync('npx vite build', { cwd: rootDir, stdio: ['ignore', 'ignore', 'inherit'] });
  const result = await loadTimes({ runs: Number(values.runs), mbps: Number(values.mbps), rttMs: Number(values.rtt) });
  console.log(JSON.stringify({ ...result, runsDetail: undefined }, null, 2));
}
