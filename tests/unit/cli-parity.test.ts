/**
 * The command-line tool's output is the page's download, byte for byte: every fixture is loaded by the engine
 * (the page's path: load → predict → exportCsv) and streamed by the built tool, and the bytes are compared; a file
 * the engine refuses is refused by the tool with the same message (exit code 1) and leaves no output.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import type { Engine } from '../../workers/engine/engine';
import { exportFileName } from '../../workers/engine/export';
import { runCli, tempDir, type CliRun } from './cli-helpers';
import { path, readyEngine, SAMPLE, THRESHOLD, unwrap } from './helpers';

const abs = (p: string) => (isAbsolute(p) ? p : path(p));

const INPUT = /\.(csv|txt|tsv)(\.gz)?$/i;

/** What the page gives for a file: its download's bytes at the threshold, or the refusal's message. */
async function pageResult(engine: Engine, file: string, threshold: number, onlyFlagged: boolean): Promise<{ bytes: Buffer } | { message: string }> {
  const loaded = await engine.load(new File([readFileSync(abs(file))], basename(file)), threshold);
  if (!loaded.ok) return { message: loaded.error.message };
  // The user's consent to missing or duplicated sensor columns (the tool's --allow-missing-sensors).
  unwrap(await engine.predict({ acceptMappingIssues: true, threshold }));
  const exported = unwrap(await engine.exportCsv({ threshold, onlyFlagged }));
  return { bytes: Buffer.from(await exported.blob.arrayBuffer()) };
}

/** Score the folders with the tool (one output per file) and compare every file with the page's result. */
async function compareFolders(dirs: string[], threshold: number, onlyFlagged: boolean): Promise<{ run: CliRun; compared: number; refused: number }> {
  const out = tempDir();
  const args = ['predict', ...dirs, '-o', out, '--allow-missing-sensors', '--threshold', String(threshold), '-q', ...(onlyFlagged ? ['--only-flagged'] : [])];
  const run = await runCli(args);
  const engine = await readyEngine();
  let compared = 0;
  let refused = 0;
  for (const dir of dirs) {
    for (const name of readdirSync(abs(dir)).filter((n) => INPUT.test(n)).sort()) {
      const file = join(dir, name);
      const page = await pageResult(engine, file, threshold, onlyFlagged);
      const written = join(out, exportFileName(name, onlyFlagged));
      if ('message' in page) {
        expect(run.stderr, file).toContain(`sensor-fault: ${file}: ${page.message}\n`);
        expect(existsSync(written), `${file}: no output for a refused file`).toBe(false);
        refused++;
      } else {
        expect(existsSync(written), `${file}: output written`).toBe(true);
        const cli = readFileSync(written);
        expect(cli.equals(page.bytes), `${file}: CLI output = page download (${cli.length} vs ${page.bytes.length} bytes)`).toBe(true);
        compared++;
      }
    }
  }
  expect(run.code).toBe(refused > 0 ? 1 : 0);
  return { run, compared, refused };
}

/** Files the fixtures lack: CRLF, BOM, quoted fields with line breaks, a late wider row, sep= line, formulas. */
function writeShapes(dir: string): void {
  const lines = readFileSync(path(SAMPLE), 'utf8').split('\n').filter((l) => l !== '');
  const header = lines[0] as string;
  const rows = lines.slice(1);
  const quoted = rows.slice(0, 8).map((l, i) => (i === 2 ? l.replace(/^Wafer-\d+/, '"Wafer ""x""\r\nsecond line"') : i === 4 ? l.replace(/^Wafer-\d+/, '"=HYPERLINK(""x"")"') : l));
  writeFileSync(join(dir, 'bom-crlf-quoted.csv'), `\uFEFF${header.replace(/^,/, '"Wafer ID",')}\r\n${quoted.join('\r\n')}\r\n\r\n`);
  // A wider row at the end only: the header must name its extra fields although the first rows do not show them.
  writeFileSync(join(dir, 'late-wide-row.csv'), `${header}\n${rows.slice(0, 20).join('\n')}\n${rows[20]},x,,y\n${rows[21]},z\n`);
  writeFileSync(join(dir, 'sep-line.csv'), `\uFEFFsep=;\r\n${[header, ...rows.slice(0, 10)].map((l) => l.replaceAll(',', ';')).join('\r\n')}`);
  writeFileSync(join(dir, 'formula-header-lone-cr.csv'), `${header.replace(/^,/, '=cmd|x,')}\r${rows.slice(0, 5).join('\r')}\r;;\r`);
  // More rows than one of the tool's 1 MB slices, no final line break, CR LF, a blank line, lines of only delimiters.
  const many: string[] = [];
  for (let k = 0; k < 12; k++) for (const r of rows) many.push(r.replace(/^Wafer-(\d+)/, `Wafer-$1-${k}`));
  many.splice(500, 0, '', ',,,,');
  writeFileSync(join(dir, 'many-rows.csv'), `${header}\r\n${many.join('\r\n')}`);
}

describe('the command-line tool writes the page download, byte for byte', () => {
  let shapes = '';
  beforeAll(() => {
    shapes = tempDir();
    writeShapes(shapes);
  });

  test('sample, fixture and bad-input files at the model threshold (refusals: the same message, exit 1)', async () => {
    const { compared, refused } = await compareFolders(['tests/fixtures/wafer', 'tests/fixtures/bad'], THRESHOLD, false);
    expect(compared).toBeGreaterThanOrEqual(25);
    expect(refused).toBeGreaterThanOrEqual(8);
  });

  test('only the flagged wafers at another threshold', async () => {
    const { compared } = await compareFolders(['tests/fixtures/wafer', 'tests/fixtures/bad'], 0.5, true);
    expect(compared).toBeGreaterThanOrEqual(25);
  });

  test('CRLF, BOM, quoted line breaks, a late wider row, sep= line, formula header, lone CR, several slices', async () => {
    for (const onlyFlagged of [false, true]) {
      const { compared, refused } = await compareFolders([shapes], THRESHOLD, onlyFlagged);
      expect({ compared, refused }).toEqual({ compared: 5, refused: 0 });
    }
    // The late wider row did make it into the header (the page's widest-row rule).
    const out = tempDir();
    await runCli(['predict', join(shapes, 'late-wide-row.csv'), '-o', join(out, 'x.csv'), '-q']);
    expect(readFileSync(join(out, 'x.csv'), 'utf8').split('\n')[0]).toMatch(/,extra_1,extra_2,extra_3,fault_probability,prediction$/);
  });
});

describe('--explain: the top_sensors download option of the page', () => {
  test('the same bytes as the download of the page with top_sensors, all wafers and only the flagged ones', async () => {
    const engine = await readyEngine();
    for (const onlyFlagged of [false, true]) {
      unwrap(await engine.load(new File([readFileSync(path(SAMPLE))], basename(SAMPLE)), THRESHOLD));
      unwrap(await engine.predict({ acceptMappingIssues: true, threshold: THRESHOLD }));
      const page = Buffer.from(await unwrap(await engine.exportCsv({ threshold: THRESHOLD, onlyFlagged, topSensors: true })).blob.arrayBuffer());
      const out = join(tempDir(), 'out.csv');
      const run = await runCli(['predict', SAMPLE, '--explain', '-o', out, '-q', '--threshold', String(THRESHOLD), ...(onlyFlagged ? ['--only-flagged'] : [])]);
      expect(run.code, run.stderr).toBe(0);
      const cli = readFileSync(out);
      expect(cli.toString('utf8').split('\n')[0]).toMatch(/,top_sensors\r?$/);
      expect(cli.equals(page), `CLI --explain = page download with top_sensors (${cli.length} vs ${page.length} bytes)`).toBe(true);
    }
  });
});

