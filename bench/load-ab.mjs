// `node bench/load-ab.mjs [--baseline main] [--runs 6]`: is the page's cold load (open → model ready) slower than
// on another commit? Builds the baseline from `git archive` in a temporary folder (this checkout's node_modules),
// serves both production builds, and opens them alternately in fresh headless Chromium contexts, so machine load
// hits both alike. Prints the medians; asserts nothing.
import { execSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { previewServer } from '../scripts/preview-server.mjs';

const rootDir = new URL('../', import.meta.url).pathname;
const { values: args } = parseArgs({ options: { baseline: { type: 'string', default: 'main' }, runs: { type: 'string', default: '6' }, 'skip-build': { type: 'boolean', default: false } } });
const launchArgs = JSON.parse(readFileSync(new URL('../scripts/chromium-args.json', import.meta.url), 'utf8'));
const BASE = '/sensor-fault-detection/';
const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

const work = mkdtempSync(join(tmpdir(), 'load-ab-'));
try {
  execSync(`git archive ${args.baseline} | tar -x -C ${work}`, { cwd: rootDir, stdio: 'inherit', shell: '/bin/bash' });
  symlinkSync(join(rootDir, 'node_modules'), join(work, 'node_modules'));
  execSync('npx vite build', { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
  if (!args['skip-build']) execSync('npx vite build', { cwd: rootDir, stdio: ['ignore', 'ignore', 'inherit'] });
  const servers = { baseline: await previewServer(join(work, 'dist'), BASE), this: await previewServer('dist', BASE) };
  const browser = await chromium.launch({ executablePath: process.env.PW_CHROMIUM || '/usr/bin/chromium', args: launchArgs, headless: true });
  const times = { baseline: [], this: [] };
  try {
    for (let r = 0; r < Number(args.runs); r++) {
      for (const name of r % 2 ? ['this', 'baseline'] : ['baseline', 'this']) {
        const context = await browser.newContext();
        const page = await context.newPage();
        await page.goto(servers[name].url);
        await page.waitForSelector('[data-testid=engine-status][data-state=ready]', { timeout: 60000 });
        times[name].push(await page.evaluate(() => performance.now()));
        await context.close();
      }
    }
  } finally {
    await browser.close();
    for (const s of Object.values(servers)) s.child.kill();
  }
  const b = median(times.baseline);
  const t = median(times.this);
  console.log(`| cold load → model ready (median of ${args.runs}, alternating) | ${args.baseline} | this checkout | ratio |`);
  console.log('|---|---:|---:|---:|');
  console.log(`| ms | ${b.toFixed(0)} | ${t.toFixed(0)} | ${(t / b).toFixed(2)} |`);
  console.log(`runs: ${args.baseline} ${times.baseline.map((x) => x.toFixed(0)).join(', ')}; this ${times.this.map((x) => x.toFixed(0)).join(', ')}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
