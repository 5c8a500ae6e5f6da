/**
 * The command-line tool as a user runs it (the built tool, a child process, the real model): standard input and
 * output, exit codes and messages, model bundles, the JSON summary, several files, folders and --combine.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Papa from 'papaparse';
import { describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { CLI, runCli, tempDir } from './cli-helpers';
import { fileFromDisk, loadResultOk, modelJson, path, readyEngine, SAMPLE, SAMPLE_NO_LABEL, THRESHOLD } from './helpers';

const sampleBytes = readFileSync(path(SAMPLE));

function rowsOf(csv: string): string[][] {
  return Papa.parse<string[]>(csv.trimEnd(), { header: false }).data;
}

describe('standard input and output', () => {
  test('a file piped in comes out on standard output as from the file itself', async () => {
    const fromFile = await runCli(['predict', SAMPLE, '-q']);
    const piped = await runCli(['predict', '-q'], sampleBytes);
    const dash = await runCli(['predict', '-', '-o', '-', '-q'], sampleBytes);
    expect(fromFile.code).toBe(0);
    expect(piped.code).toBe(0);
    expect(piped.stdout.equals(fromFile.stdout)).toBe(true);
    expect(dash.stdout.equals(fromFile.stdout)).toBe(true);
    expect(fromFile.stdout.length).toBeGreaterThan(sampleBytes.length);
    expect(fromFile.stderr).toBe('');
  });

  test('a gzip file on standard input is decompressed first; the summary goes to standard error', async () => {
    const plain = await runCli(['predict', SAMPLE, '-q']);
    const gz = await runCli(['predict'], gzipSync(sampleBytes));
    expect(gz.code).toBe(0);
    expect(gz.stdout.equals(plain.stdout)).toBe(true);
    expect(gz.stderr).toMatch(new RegExp(`^stdin: 100 wafers: \\d+ flagged at threshold ${THRESHOLD}, \\d+ OK`));
  });

  test('a row wider than the first ones, late in the file: the same bytes to a file (written again) and to stdout (read twice)', async () => {
    const lines = sampleBytes.toString('utf8').split('\n').filter((l) => l !== '');
    // Past the first 100 records (the ones the plan samples), so the file output is written twice.
    const rows = [...lines.slice(1), ...lines.slice(1), ...lines.slice(1)];
    rows[250] = `${rows[250]},x,y`;
    const text = `${lines[0]}\n${rows.join('\n')}\n`;
    const dir = tempDir();
    writeFileSync(join(dir, 'wide.csv'), text);
    const toFile = await runCli(['predict', join(dir, 'wide.csv'), '-o', join(dir, 'out.csv'), '-q']);
    const toStdout = await runCli(['predict', '-q'], text);
    expect(toFile.code).toBe(0);
    const written = readFileSync(join(dir, 'out.csv'));
    expect(written.equals(toStdout.stdout)).toBe(true);
    const out = rowsOf(written.toString());
    expect(out[0]?.slice(-4)).toEqual(['extra_1', 'extra_2', 'fault_probability', 'prediction']);
    expect(out.every((row) => row.length === out[0]?.length)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['out.csv', 'wide.csv']);
  });

  test('an empty standard input is refused with the page message', async () => {
    const r = await runCli(['predict']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('sensor-fault: stdin: The file is empty (0 bytes).\n');
    expect(r.stdout.length).toBe(0);
  });
});

test('Ctrl+C while standard input is being read: exit 130, its temporary copy removed', async () => {
  const tmp = tempDir();
  const child = spawn(process.execPath, [CLI, 'predict', '-q'], { cwd: path(''), env: { ...process.env, TMPDIR: tmp }, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdin.write(sampleBytes.subarray(0, 20_000));
  // Wait until the copy of standard input exists, then interrupt.
  for (let i = 0; i < 200 && readdirSync(tmp).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(readdirSync(tmp)).toHaveLength(1);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  child.kill('SIGINT');
  expect(await exited).toBe(130);
  expect(stderr).toContain('sensor-fault: stopped (SIGINT)');
  expect(readdirSync(tmp)).toEqual([]);
});

describe('exit codes and messages', () => {
  test.each([
    [['predict', SAMPLE, '--nope'], /Unknown option '--nope'/],
    [['predict', SAMPLE, '--threshold', '1.5'], /--threshold must be a number from 0 to 1/],
    [['predict', SAMPLE, '--threshold', 'abc'], /--threshold must be a number from 0 to 1/],
    [['predict', SAMPLE, '--numbers', 'dot'], /--numbers must be point or comma/],
    [['predict', SAMPLE, '--json'], /--json prints the summary on standard output/],
    [['predict', SAMPLE, SAMPLE_NO_LABEL], /Several inputs need -o OUT_DIR/],
    [['predict', 'tests/fixtures/nothing-here.csv', '-o', '/tmp/x.csv'], /nothing-here\.csv: no such file or folder/],
    [['predict', SAMPLE, '-o', SAMPLE], /is one of the inputs/],
    [['score', SAMPLE], /Unknown command “score”/],
    [[], /Say what to do/],
  ])('usage error %j: exit 2', async (args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/Run sensor-fault --help for the options\.\n$/);
    expect(r.stdout.length).toBe(0);
  });

  test('--help and --version', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout.toString()).toMatch(/^Usage: sensor-fault predict/);
    expect(help.stdout.toString()).toMatch(/Exit codes: 0 every file scored; 1/);
    const v = await runCli(['--version']);
    expect(v.stdout.toString()).toMatch(/^sensor-fault \d+\.\d+\.\d+\n$/);
  });

  test('missing sensor columns: refused unless --allow-missing-sensors (the page asks first)', async () => {
    const file = 'tests/fixtures/bad/missing-few.csv';
    const refused = await runCli(['predict', file]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `sensor-fault: ${file}: Not scored: sensor columns are missing: Sensor-100, Sensor-200 … Sensor-202 missing (4 columns). The page asks before treating them as missing readings; to do so here, add --allow-missing-sensors.\n`,
    );
    const allowed = await runCli(['predict', file, '--allow-missing-sensors']);
    expect(allowed.code).toBe(0);
    expect(allowed.stderr).toContain('missing or duplicated sensor columns treated as missing readings (Sensor-100, Sensor-200 … Sensor-202 missing (4 columns))');
    expect(rowsOf(allowed.stdout.toString())).toHaveLength(13);
  });

  test('a workbook, a file without sensor columns: the page messages, exit 1, no output file', async () => {
    const out = tempDir();
    for (const [file, message] of [
      ['tests/fixtures/bad/formats-workbook.xlsx', 'This is an Excel workbook (.xlsx), not a CSV file.'],
      ['tests/fixtures/bad/no-sensors.csv', "None of the 2 columns match the model's sensors"],
    ] as const) {
      const target = join(out, 'o.csv');
      const r = await runCli(['predict', file, '-o', target]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`sensor-fault: ${file}: ${message}`);
      expect(existsSync(target)).toBe(false);
      expect(readdirSync(out)).toEqual([]);
    }
  });
});

describe('model bundles (--model DIR)', () => {
  function copyBundle(): string {
    const dir = tempDir();
    for (const f of readdirSync(path('public/models'))) copyFileSync(path(`public/models/${f}`), join(dir, f));
    return dir;
  }

  test('a copy of the shipped bundle scores as the shipped one does', async () => {
    const dir = copyBundle();
    const shipped = await runCli(['predict', SAMPLE, '-q']);
    const copied = await runCli(['predict', SAMPLE, '--model', dir, '-q']);
    expect(copied.code).toBe(0);
    expect(copied.stdout.equals(shipped.stdout)).toBe(true);
  });

  test('a changed ONNX file, a missing one, a listed file with another sha256: refused by name, exit 2', async () => {
    const changed = copyBundle();
    const onnx = join(changed, modelJson.onnx.file);
    const bytes = readFileSync(onnx);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    writeFileSync(onnx, bytes);
    const r1 = await runCli(['predict', SAMPLE, '--model', changed]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(new RegExp(`the sha256 of ${modelJson.onnx.file} is [0-9a-f]{64}, model.json expects ${modelJson.onnx.sha256}`));

    const missing = copyBundle();
    const json = JSON.parse(readFileSync(join(missing, 'model.json'), 'utf8'));
    json.onnx.file = 'gone.onnx';
    writeFileSync(join(missing, 'model.json'), JSON.stringify(json));
    const r2 = await runCli(['predict', SAMPLE, '--model', missing]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain(`The model bundle in ${missing} is incomplete: the ONNX model file gone.onnx is missing.`);

    const listed = copyBundle();
    writeFileSync(join(listed, 'golden.json'), '{}');
    const j2 = JSON.parse(readFileSync(join(listed, 'model.json'), 'utf8'));
    j2.bundle = { format: 2, files: { golden: { file: 'golden.json', sha256: '0'.repeat(64), bytes: 2 }, report: { file: 'report.md', sha256: '1'.repeat(64), bytes: 1 } } };
    writeFileSync(join(listed, 'model.json'), JSON.stringify(j2));
    const r3 = await runCli(['predict', SAMPLE, '--model', listed]);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain(`the sha256 of golden.json is 44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a, model.json expects ${'0'.repeat(64)}`);
    writeFileSync(join(listed, 'golden.json'), '');
    j2.bundle.files.golden.sha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    rmSync(join(listed, 'report.md'), { force: true });
    writeFileSync(join(listed, 'model.json'), JSON.stringify(j2));
    const r4 = await runCli(['predict', SAMPLE, '--model', listed]);
    expect(r4.stderr).toContain(`The model bundle in ${listed} is incomplete: the report file report.md is missing.`);

    const none = await runCli(['predict', SAMPLE, '--model', tempDir()]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/is incomplete: the manifest file model\.json is missing\./);
  });
});

describe('summary, threshold, several files', () => {
  test('--json: the counts the page shows for the file, at the threshold given', async () => {
    const out = tempDir();
    const r = await runCli(['predict', SAMPLE, '-o', join(out, 'p.csv'), '--json', '--threshold', '0.4']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout.toString());
    const engine = await readyEngine();
    const page = (await loadResultOk(engine, fileFromDisk(SAMPLE))).results;
    const atThreshold = (await engine.summarize(0.4)) as { ok: true; value: { results: { flagged: number; rows: number } } };
    expect(summary).toMatchObject({ threshold: 0.4, only_flagged: false, model: { sha256: modelJson.onnx.sha256 } });
    expect(summary.files).toHaveLength(1);
    expect(summary.files[0]).toMatchObject({ file: SAMPLE, ok: true, wafers: page?.rows, written: 100, flagged: atThreshold.value.results.flagged, delimiter: ',', number_format: 'point' });
    expect(summary.files[0].flagged + summary.files[0].ok_wafers + summary.files[0].not_scored_low_coverage).toBe(100);
  });

  test('--threshold and --only-flagged: only wafers at or above the threshold are written', async () => {
    const r = await runCli(['predict', SAMPLE, '--threshold', '0.6', '--only-flagged', '-q']);
    const rows = rowsOf(r.stdout.toString());
    expect(rows.length).toBeGreaterThan(1);
    for (const row of rows.slice(1)) {
      expect(Number(row.at(-2))).toBeGreaterThanOrEqual(0.6);
      expect(row.at(-1)).toBe('Fault');
    }
  });

  test('a folder and a file: one output each, a refused file named on standard error, exit 1', async () => {
    const inputs = tempDir();
    copyFileSync(path(SAMPLE), join(inputs, 'a.csv'));
    copyFileSync(path('tests/fixtures/bad/no-sensors.csv'), join(inputs, 'b.csv'));
    writeFileSync(join(inputs, 'notes.md'), 'not an input');
    const out = join(tempDir(), 'new-folder');
    const r = await runCli(['predict', inputs, SAMPLE_NO_LABEL, '-o', out]);
    expect(r.code).toBe(1);
    expect(readdirSync(out).sort()).toEqual(['a_predictions.csv', 'test2_predictions.csv']);
    expect(r.stderr).toContain(`sensor-fault: ${join(inputs, 'b.csv')}: None of the 2 columns match`);
    expect(r.stderr).toContain('1 file was refused, 2 scored.');
    const single = await runCli(['predict', SAMPLE, '-q']);
    expect(readFileSync(join(out, 'a_predictions.csv')).equals(single.stdout)).toBe(true);
  });

  test('--combine: one output, a source_file column first, one header; a file with other columns is refused', async () => {
    const inputs = tempDir();
    copyFileSync(path(SAMPLE), join(inputs, 'a.csv'));
    copyFileSync(path(SAMPLE), join(inputs, 'b.csv'));
    copyFileSync(path('tests/fixtures/bad/extra-duplicate.csv'), join(inputs, 'c.csv'));
    const target = join(tempDir(), 'all.csv');
    const r = await runCli(['predict', inputs, '--combine', '-o', target, '--allow-missing-sensors', '-q']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`sensor-fault: ${join(inputs, 'c.csv')}: Its columns are not those of ${join(inputs, 'a.csv')}, the first file in the combined output (column 594 is “Operator” here, “fault_probability” there); score it separately.`);
    const rows = rowsOf(readFileSync(target, 'utf8'));
    const single = rowsOf((await runCli(['predict', SAMPLE, '-q'])).stdout.toString());
    expect(rows[0]).toEqual(['source_file', ...(single[0] as string[])]);
    expect(rows).toHaveLength(201);
    expect(rows.slice(1, 101)).toEqual(single.slice(1).map((row) => ['a.csv', ...row]));
    expect(rows.slice(101)).toEqual(single.slice(1).map((row) => ['b.csv', ...row]));
    // To standard output as well, and the same bytes.
    const toStdout = await runCli(['predict', join(inputs, 'a.csv'), join(inputs, 'b.csv'), '--combine', '-q']);
    expect(toStdout.code).toBe(0);
    expect(toStdout.stdout.equals(readFileSync(target))).toBe(true);
  });

  test('two inputs of the same name into one folder: a usage error before anything is written', async () => {
    const a = tempDir();
    const b = tempDir();
    copyFileSync(path(SAMPLE), join(a, 'x.csv'));
    copyFileSync(path(SAMPLE), join(b, 'x.csv'));
    const out = join(tempDir(), 'o');
    mkdirSync(out);
    const r = await runCli(['predict', join(a, 'x.csv'), join(b, 'x.csv'), '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('would both be written to');
    expect(readdirSync(out)).toEqual([]);
  });
});

test('the threshold default is the model’s', async () => {
  const r = await runCli(['predict', SAMPLE, '-o', join(tempDir(), 'p.csv'), '--json']);
  expect(JSON.parse(r.stdout.toString()).threshold).toBe(THRESHOLD);
});
