// Generates SECOM-shaped wafer CSVs for the benchmark into bench/generated/ (git-ignored):
// an id column, Sensor-1 … Sensor-590 and Good/Bad. Each reading is drawn between the sensor's training
// 1st and 99th percentiles (model.json `sensors`) and is left empty at the sensor's training missing rate
// (≈ 4.5 % of cells overall). Readings are written like SECOM's text: an integer where the sensor's training
// values are integers (min, max, p01 and p99 all whole: counts, set points such as `100`, `-5419`), otherwise a
// decimal with 9 significant digits and no trailing zeros (`2187.73331`, `0.0162048831`, `-0.00340125`), which
// makes 100,000 wafers ≈ 540 MB like the export. Deterministic: a fixed-seed PRNG.
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { mulberry32 } from './synthetic.mjs';

const model = JSON.parse(readFileSync(new URL('../public/models/model.json', import.meta.url), 'utf8'));
export const generatedDir = new URL('./generated/', import.meta.url);

const isWhole = (s) => [s.min, s.max, s.p01, s.p99].every((v) => typeof v === 'number' && Number.isInteger(v));

function formatReading(x, whole) {
  if (whole) return String(Math.round(x) || 0);
  if (x === 0) return '0';
  const text = x.toPrecision(9);
  return text.includes('e') ? text : String(Number(text));
}

/** Writes `rows` wafers to bench/generated/wafers-<rows>.csv unless it exists; returns the path. */
export async function generate(rows) {
  mkdirSync(generatedDir, { recursive: true });
  const url = new URL(`wafers-${rows}.csv`, generatedDir);
  return writeWafers(url, rows, rows);
}

/**
 * A day's folder (issue 14): `files` files of `rows` wafers each, named as the seed's batches are
 * (Wafer_DDMMYYYY_HHMMSS.csv, 13 Jan 2020 from 08:00, one every 20 minutes), each from its own seed, into
 * bench/generated/batch-<files>x<rows>/ unless there; returns the folder's path and the files'.
 */
export async function generateFolder(files, rows) {
  const dir = new URL(`batch-${files}x${rows}/`, generatedDir);
  mkdirSync(dir, { recursive: true });
  const paths = [];
  for (let k = 0; k < files; k++) {
    const minutes = 8 * 60 + 20 * k;
    const hh = String(Math.floor(minutes / 60)).padStart(2, '0');
    const mm = String(minutes % 60).padStart(2, '0');
    paths.push(await writeWafers(new URL(`Wafer_13012020_${hh}${mm}00.csv`, dir), rows, 1000 * files + k + rows));
  }
  return { dir: dir.pathname, paths };
}

async function writeWafers(url, rows, seed) {
  if (existsSync(url) && statSync(url).size > 0) return url.pathname;
  const random = mulberry32(seed);
  const sensors = model.features.map((name) => model.sensors[name]);
  const whole = sensors.map((s) => s.p01 !== null && isWhole(s));
  const out = createWriteStream(`${url.pathname}.part`);
  out.write(`,${model.features.join(',')},Good/Bad\n`);
  for (let r = 0; r < rows; r++) {
    const cells = [`Wafer-${r + 1}`];
    sensors.forEach((s, i) => {
      if (s.p01 === null || random() < s.missing_rate) cells.push('');
      else cells.push(formatReading(s.p01 + (s.p99 - s.p01) * random(), whole[i]));
    });
    cells.push(random() < 0.068 ? '1' : '-1');
    if (!out.write(cells.join(',') + '\n')) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  const { renameSync } = await import('node:fs');
  renameSync(`${url.pathname}.part`, url.pathname);
  return url.pathname;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const arg of process.argv.slice(2)) {
    const path = await generate(Number(arg));
    console.log(`${path}: ${(statSync(path).size / 1e6).toFixed(1)} MB`);
  }
}
