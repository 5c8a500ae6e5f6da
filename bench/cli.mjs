// The command-line tool's benchmark: `sensor-fault predict` on a generated SECOM-shaped file (bench/generate.mjs),
// file → file and standard input → standard output, timed from outside, with the process's peak resident memory
// (getrusage maxRSS, via bench/rss-hook.mjs) and CPU time. The output of every run is checked: with the two appended
// fields removed, every line is the input's line, byte for byte. `npm run bench` runs it after the browser
// benchmark; alone: `node bench/cli.mjs --rows 185000 --runs 3` (185,000 wafers ≈ 1 GB).
import { execSync, spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { generate } from './generate.mjs';

const rootDir = new URL('../', import.meta.url).pathname;
const cli = join(rootDir, 'bin/sensor-fault.mjs');
const hook = join(rootDir, 'bench/rss-hook.mjs');

/** Run the tool once; `stdinFile` pipes that file in. Resolves to wall/CPU time and peak RSS. */
function runOnce(args, { stdinFile = null, stdoutFile = null } = {}) {
  const rssFile = join(mkdtempSync(join(tmpdir(), 'sf-bench-')), 'rss.json');
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--import', hook, cli, ...args], {
      cwd: rootDir,
      env: { ...process.env, SENSOR_FAULT_RSS_FILE: rssFile },
      stdio: [stdinFile ? 'pipe' : 'ignore', stdoutFile ? 'pipe' : 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b) => (stderr += b));
    if (stdinFile) createReadStream(stdinFile).pipe(child.stdin);
    if (stdoutFile) {
      import('node:fs').then(({ createWriteStream }) => child.stdout.pipe(createWriteStream(stdoutFile)));
    }
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) return reject(new Error(`sensor-fault exited with ${code}: ${stderr}`));
      const usage = JSON.parse(readFileSync(rssFile, 'utf8'));
      rmSync(join(rssFile, '..'), { recursive: true, force: true });
      resolve({ ms, maxRssBytes: usage.maxRssKiB * 1024, cpuMs: usage.userMs + usage.systemMs });
    });
  });
}

/** Every output line minus its last two fields is the input line (the generated file has no quotes). */
async function outputMatchesInput(input, output) {
  const a = createInterface({ input: createReadStream(input), crlfDelay: Infinity })[Symbol.asyncIterator]();
  const b = createInterface({ input: createReadStream(output), crlfDelay: Infinity })[Symbol.asyncIterator]();
  let lines = 0;
  for (;;) {
    const [x, y] = await Promise.all([a.next(), b.next()]);
    if (x.done || y.done) return x.done === y.done && lines > 1;
    const cut = y.value.lastIndexOf(',', y.value.lastIndexOf(',') - 1);
    if (y.value.slice(0, cut) !== x.value) return false;
    lines++;
  }
}

const median = (xs) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];

/** @returns {Promise<object>} the medians of `runs` runs of each mode on a file of `rows` wafers */
export async function cliBench({ rows = 185000, runs = 3, build = true, log = console.error } = {}) {
  const input = await generate(rows);
  const bytes = statSync(input).size;
  if (build || !existsSync(join(rootDir, 'cli-dist/sensor-fault.mjs'))) execSync('npm run build:cli', { cwd: rootDir, stdio: ['ignore', 'ignore', 'inherit'] });
  const dir = mkdtempSync(join(tmpdir(), 'sf-bench-out-'));
  const out = join(dir, 'out.csv');
  const modes = {
    'file → file': () => runOnce(['predict', input, '-o', out, '-q']),
    'stdin → stdout': () => runOnce(['predict', '-q'], { stdinFile: input, stdoutFile: out }),
  };
  const results = [];
  try {
    for (const [mode, run] of Object.entries(modes)) {
      const each = [];
      for (let r = 0; r < runs; r++) {
        const res = await run();
        res.identical = await outputMatchesInput(input, out);
        log(`cli ${mode} ${rows} wafers run ${r + 1}/${runs}: ${(res.ms / 1000).toFixed(1)} s (${(bytes / 1e6 / (res.ms / 1000)).toFixed(1)} MB/s), CPU ${(res.cpuMs / 1000).toFixed(1)} s, peak RSS ${(res.maxRssBytes / 1e6).toFixed(0)} MB, original columns identical: ${res.identical}`);
        each.push(res);
        rmSync(out, { force: true });
      }
      const ms = median(each.map((e) => e.ms));
      results.push({
        mode,
        rows,
        bytes,
        runs,
        ms,
        mbPerS: bytes / 1e6 / (ms / 1000),
        cpuMs: median(each.map((e) => e.cpuMs)),
        maxRssBytes: Math.max(...each.map((e) => e.maxRssBytes)),
        identical: each.every((e) => e.identical),
        loadAverage1m: loadavg()[0],
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

export function cliMarkdown(results) {
  const f = (x, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const L = [
    'Command-line tool (`sensor-fault predict`, Node, parse worker threads), medians; peak RSS = the largest getrusage maxRSS over the runs; CPU = user + system time of the process (all threads).',
    '',
    '| mode | wafers | file MB | runs | wall s (MB/s) | CPU s (MB per CPU-s) | peak RSS MB | original columns identical | 1-min load at end |',
    '|---|---:|---:|---:|---:|---:|---:|:---:|---:|',
  ];
  for (const r of results) {
    L.push(`| ${r.mode} | ${f(r.rows)} | ${f(r.bytes / 1e6, 1)} | ${r.runs} | ${f(r.ms / 1000, 1)} (${f(r.mbPerS, 1)}) | ${f(r.cpuMs / 1000, 1)} (${f(r.bytes / 1e6 / (r.cpuMs / 1000), 1)}) | ${f(r.maxRssBytes / 1e6)} | ${r.identical ? 'yes' : 'NO'} | ${f(r.loadAverage1m, 1)} |`);
  }
  return `${L.join('\n')}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '185000' }, runs: { type: 'string', default: '3' }, 'skip-build': { type: 'boolean', default: false } } });
  const results = await cliBench({ rows: Number(values.rows), runs: Number(values.runs), build: !values['skip-build'] });
  console.log(cliMarkdown(results));
}
