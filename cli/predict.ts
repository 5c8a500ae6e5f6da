/**
 * `sensor-fault predict`: every input streamed through the engine's streaming predict (stream-predict.ts) into
 * its output. A refused input gets the page's message on standard error and no output; the other inputs are still
 * scored, and the exit code is then 1.
 */
import { mkdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { formatBytes, formatCount, pluralize } from '../workers/format';
import { EngineFailure } from '../workers/engine/errors';
import { exportFileName } from '../workers/engine/export';
import { outputColumns, planStream, runStream, WidestRowChanged, withExactWidest, type StreamPlan, type StreamSummary } from '../workers/engine/stream-predict';
import { UsageError, type PredictArgs } from './args';
import { BundleError, loadBundle, SHIPPED_BUNDLE, type LoadedBundle } from './bundle';
import { InputListError, listInputs, openInput, STDIN, type InputRef } from './input';
import { appendFile, OutputError, PendingFile, writeTo } from './output';
import { nodeParsePool, poolSize } from './pool';
import type { ParsePool } from '../workers/engine/pool';

export const EXIT_OK = 0;
export const EXIT_REFUSED = 1;
export const EXIT_USAGE = 2;
export const EXIT_OUTPUT = 3;

/** The streams the tool talks to (the process's own; tests may give others). */
export interface Io {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  stdinIsTTY: boolean;
}

/** One input's outcome, for the summary. */
interface FileReport {
  file: string;
  output: string | null;
  summary: StreamSummary | null;
  plan: StreamPlan | null;
  compressedBytes: number | null;
  error: { code: string; message: string } | null;
  seconds: number;
}

/** Where the outputs go, decided from the inputs and -o before anything is read. */
type Destination = { kind: 'stdout' } | { kind: 'file'; path: string } | { kind: 'folder'; path: string } | { kind: 'combined'; path: string | null };

async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function destinationFor(args: PredictArgs, refs: InputRef[], anyFolder: boolean): Promise<Destination> {
  const out = args.output === '-' ? null : args.output;
  if (args.combine) return { kind: 'combined', path: out };
  if (refs.length === 1 && !anyFolder) {
    if (out === null) return { kind: 'stdout' };
    if (await isFolder(out)) return { kind: 'file', path: join(out, exportFileName(refs[0]?.name ?? 'wafers', args.onlyFlagged)) };
    return { kind: 'file', path: out };
  }
  if (out === null) throw new UsageError('Several inputs need -o OUT_DIR (a folder for one output each), or --combine for one output.');
  return { kind: 'folder', path: out };
}

/** Per-file output paths in a folder; two inputs of the same name would overwrite each other's output. */
function folderOutputs(dir: string, refs: InputRef[], onlyFlagged: boolean): string[] {
  const seen = new Map<string, string>();
  return refs.map((r) => {
    const name = exportFileName(r.name, onlyFlagged);
    const other = seen.get(name);
    if (other !== undefined) throw new UsageError(`${other} and ${r.path} would both be written to ${join(dir, name)}; score them in separate runs or use --combine.`);
    seen.set(name, r.path);
    return join(dir, name);
  });
}

function checkNotAnInput(refs: InputRef[], outputs: string[]): void {
  const inputs = new Set(refs.filter((r) => r.path !== STDIN).map((r) => resolve(r.path)));
  for (const o of outputs) if (inputs.has(resolve(o))) throw new UsageError(`The output ${o} is one of the inputs; choose another output.`);
}

class Reporter {
  private lastProgress = 0;
  constructor(
    private readonly io: Io,
    private readonly quiet: boolean,
  ) {}
  line(text: string): void {
    if (!this.quiet) this.io.stderr.write(`${text}\n`);
  }
  error(file: string, message: string): void {
    this.clearProgress();
    this.io.stderr.write(`sensor-fault: ${file}: ${message}\n`);
  }
  /** A live progress line, on a terminal only (a log would fill with them). */
  progress(file: string, done: number, total: number): void {
    if (this.quiet || !this.io.stderr.isTTY) return;
    const now = Date.now();
    if (now - this.lastProgress < 200 && done < total) return;
    this.lastProgress = now;
    const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
    this.io.stderr.write(`\r${file}: ${pct} % (${formatBytes(done)} of ${formatBytes(total)})\x1b[K`);
  }
  clearProgress(): void {
    if (!this.quiet && this.io.stderr.isTTY) this.io.stderr.write('\r\x1b[K');
  }
}

/** The one-line result of a file, and what the page would also have pointed out about it. */
function describe(r: FileReport, threshold: number): string[] {
  const s = r.summary as StreamSummary;
  const c = s.counts;
  const parts = [`${pluralize(s.dataRows, 'wafer')}: ${formatCount(s.flagged)} flagged at threshold ${threshold}, ${formatCount(s.ok)} OK`];
  if (s.notScored > 0) parts.push(`${formatCount(s.notScored)} not scored (low coverage)`);
  const lines = [`${r.file}: ${parts.join(', ')}${r.output !== null ? ` → ${r.output}` : ''} (${r.seconds.toFixed(1)} s)`];
  const notes: string[] = [];
  if (r.plan?.map.mapping.needsConsent) notes.push(`missing or duplicated sensor columns treated as missing readings (${r.plan.map.mapping.missingText ?? 'duplicates'})`);
  if (c.cellIssueCount > 0) notes.push(`${pluralize(c.cellIssueCount, 'sensor cell is', 'sensor cells are')} not a number (treated as missing readings)`);
  if (c.rowShapeIssueCount > 0) notes.push(`${pluralize(c.rowShapeIssueCount, 'row has', 'rows have')} another number of fields than the header`);
  if (c.delimiterOnlyLines > 0) notes.push(`${pluralize(c.delimiterOnlyLines, 'line holds', 'lines hold')} only delimiters (not wafers)`);
  if (s.neutralizedCells > 0) notes.push(`${pluralize(s.neutralizedCells, 'text cell was', 'text cells were')} prefixed with ' so a spreadsheet will not run it as a formula`);
  if (r.plan?.numbers.format === 'comma') notes.push('numbers read with a decimal comma (detected; --numbers point to change)');
  for (const n of notes) lines.push(`  ${n}`);
  return lines;
}

function jsonReport(r: FileReport): unknown {
  const s = r.summary;
  return {
    file: r.file,
    output: r.output,
    ok: r.error === null,
    ...(r.error ? { error: r.error } : {}),
    ...(s && r.plan
      ? {
          wafers: s.dataRows,
          written: s.rows,
          flagged: s.flagged,
          ok_wafers: s.ok,
          not_scored_low_coverage: s.notScored,
          delimiter: r.plan.sniffed.delimiter,
          number_format: s.numberFormat,
          compressed_bytes: r.compressedBytes,
          missing_sensors: r.plan.map.mapping.missingFeatures,
          duplicated_sensors: r.plan.map.mapping.duplicateFeatures.map((d) => d.feature),
          missing_cells: s.counts.missingCells,
          non_numeric_cells: s.counts.cellIssueCount,
          row_shape_issues: s.counts.rowShapeIssueCount,
          delimiter_only_lines: s.counts.delimiterOnlyLines,
          neutralized_cells: s.neutralizedCells,
          seconds: Number(r.seconds.toFixed(3)),
        }
      : {}),
  };
}

function failureOf(e: unknown): { code: string; message: string } {
  if (e instanceof EngineFailure) return { code: e.code, message: e.message };
  if (e instanceof RangeError) return { code: 'too-large', message: `Out of memory while reading the file (${e.message}).` };
  throw e;
}

/** What one run shares: the model, the threshold, the reporter. */
interface Run {
  args: PredictArgs;
  bundle: LoadedBundle;
  threshold: number;
  reporter: Reporter;
  io: Io;
  /** Parse worker threads, shared by the inputs; null with --workers 0. */
  pool: ParsePool | null;
}

/**
 * Plan, score and write one input into `write`. `beforeWrite` may refuse the plan (a combined output's columns);
 * returns the file's report (an error when it was refused).
 */
/** Where one input's output bytes go; `rewind` (absent for a stream that cannot) empties it. */
interface Target {
  write(bytes: Uint8Array): Promise<void>;
  rewind?: () => Promise<void>;
}

/**
 * Plan, score and write one input into `target`. `combine.check` may refuse the plan (a combined output's
 * columns); returns the file's report (with the error when it was refused).
 */
async function predictOne(run: Run, ref: InputRef, output: string | null, target: Target, combine?: { writeHeader: boolean; check: (plan: StreamPlan) => void }): Promise<FileReport> {
  const t0 = performance.now();
  const report: FileReport = { file: ref.path === STDIN ? 'stdin' : ref.path, output, summary: null, plan: null, compressedBytes: null, error: null, seconds: 0 };
  let input;
  try {
    input = await openInput(ref);
    report.compressedBytes = input.compressedBytes;
    let plan = await planStream(input.source, run.bundle.model, {
      allowMissingSensors: run.args.allowMissingSensors,
      ...(run.args.numberFormat ? { choices: { numberFormat: run.args.numberFormat } } : {}),
      // An output that cannot be started over needs the widest row before its first byte.
      exactWidest: target.rewind === undefined,
    });
    const options = {
      threshold: run.threshold,
      onlyFlagged: run.args.onlyFlagged,
      write: (b: Uint8Array) => target.write(b),
      onProgress: (done: number, total: number) => run.reporter.progress(report.file, done, total),
      ...(run.pool ? { pool: run.pool } : {}),
      ...(combine ? { combine: { sourceFile: ref.name, writeHeader: combine.writeHeader } } : {}),
      ...(run.args.explain && run.bundle.explainer ? { explainer: run.bundle.explainer } : {}),
    };
    for (;;) {
      report.plan = plan;
      combine?.check(plan);
      try {
        report.summary = await runStream(plan, run.bundle.model, options);
        break;
      } catch (e) {
        if (!(e instanceof WidestRowChanged) || !target.rewind) throw e;
        // A row wider than the first ones: the header written is short of its extra_… columns. Once more, right.
        await target.rewind();
        plan = await withExactWidest(plan);
      }
    }
    run.reporter.clearProgress();
  } catch (e) {
    if (e instanceof OutputError) throw e;
    report.error = failureOf(e);
    run.reporter.error(report.file, report.error.message);
  } finally {
    await input?.close();
  }
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}

/** One output per input, each written under a temporary name and renamed when the input was read to its end. */
async function predictToFiles(run: Run, refs: InputRef[], paths: string[]): Promise<FileReport[]> {
  const reports: FileReport[] = [];
  for (const [i, ref] of refs.entries()) {
    const pending = new PendingFile(paths[i] as string);
    let report: FileReport;
    try {
      report = await predictOne(run, ref, pending.path, { write: (b) => pending.write(b), rewind: () => pending.rewind() });
    } catch (e) {
      await pending.discard();
      throw e;
    }
    if (report.error === null) await pending.commit();
    else await pending.discard();
    reports.push(report);
  }
  return reports;
}

/** One input straight to standard output. */
async function predictToStdout(run: Run, ref: InputRef): Promise<FileReport[]> {
  return [await predictOne(run, ref, null, { write: (b) => writeTo(run.io.stdout, b, 'standard output') })];
}

/**
 * All inputs into one output with a source_file column. Each input goes to a temporary file first and is appended
 * when it was read to its end, so a file refused part-way adds no rows. Every input must have the columns of the
 * first one written (the combined CSV has one header).
 */
async function predictCombined(run: Run, refs: InputRef[], path: string | null): Promise<FileReport[]> {
  const target = path === null ? null : new PendingFile(path);
  const out: Writable = target === null ? run.io.stdout : target.writable;
  const reports: FileReport[] = [];
  let first: { file: string; delimiter: string; columns: string[] } | null = null;
  try {
    for (const ref of refs) {
      // Next to the output (the same disk, as the output needs the room anyway), or in the temporary folder.
      const part = new PendingFile(join(path === null ? tmpdir() : dirname(path), `combined-part-${reports.length}.csv`));
      const check = (plan: StreamPlan) => {
        if (first === null) return;
        const columns = outputColumns(plan, true, run.args.explain);
        if (plan.sniffed.delimiter !== first.delimiter) {
          throw new EngineFailure('bad-request', `Its delimiter (${JSON.stringify(plan.sniffed.delimiter)}) is not the one of ${first.file} (${JSON.stringify(first.delimiter)}), the first file in the combined output; score it separately.`);
        }
        if (columns.join('\n') !== first.columns.join('\n')) {
          throw new EngineFailure('bad-request', `Its columns are not those of ${first.file}, the first file in the combined output (${differingColumn(columns, first.columns)}); score it separately.`);
        }
      };
      let report: FileReport;
      try {
        report = await predictOne(run, ref, path ?? null, { write: (b) => part.write(b), rewind: () => part.rewind() }, { writeHeader: first === null, check });
        if (report.error === null) {
          await part.finish();
          await appendFile(part.temp, out, path ?? 'standard output');
          if (first === null && report.plan) first = { file: report.file, delimiter: report.plan.sniffed.delimiter, columns: outputColumns(report.plan, true, run.args.explain) };
        }
      } finally {
        await part.discard();
      }
      reports.push(report);
    }
    if (target) {
      if (first === null) await target.discard();
      else await target.commit();
    }
  } catch (e) {
    await target?.discard();
    throw e;
  }
  return reports;
}

function differingColumn(a: string[], b: string[]): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `column ${formatCount(i + 1)} is “${a[i] ?? '(none)'}” here, “${b[i] ?? '(none)'}” there`;
  }
  return 'they differ';
}

async function loadModel(args: PredictArgs): Promise<LoadedBundle> {
  try {
    return await loadBundle(args.modelDir ?? SHIPPED_BUNDLE);
  } catch (e) {
    if (e instanceof BundleError || e instanceof EngineFailure) throw new UsageError(e.message);
    throw e;
  }
}

/** Run `predict`; resolves to the exit code. Usage errors are thrown (UsageError), output failures too (OutputError). */
export async function predict(args: PredictArgs, io: Io): Promise<number> {
  if (args.inputs.length === 0 && io.stdinIsTTY) throw new UsageError('No input: give a CSV file or folder, or pipe a CSV file into standard input.');
  let refs: InputRef[];
  try {
    refs = await listInputs(args.inputs.length > 0 ? args.inputs : [STDIN]);
  } catch (e) {
    if (e instanceof InputListError) throw new UsageError(e.message);
    throw e;
  }
  if (refs.filter((r) => r.path === STDIN).length > 1) throw new UsageError('Standard input (-) can be read only once.');
  const anyFolder = (await Promise.all(args.inputs.map(isFolder))).some(Boolean);
  const dest = await destinationFor(args, refs, anyFolder);
  const paths = dest.kind === 'folder' ? folderOutputs(dest.path, refs, args.onlyFlagged) : dest.kind === 'file' ? [dest.path] : dest.kind === 'combined' && dest.path ? [dest.path] : [];
  checkNotAnInput(refs, paths);
  const bundle = await loadModel(args);
  if (args.explain && bundle.explainer === null) throw new UsageError(`--explain needs the model bundle's explain.json; the bundle in ${bundle.dir} lists none.`);
  if (dest.kind === 'folder') await mkdir(dest.path, { recursive: true });
  const workers = args.workers ?? poolSize();
  const pool = workers > 0 ? nodeParsePool(workers) : null;
  const run: Run = { args, bundle, threshold: args.threshold ?? bundle.json.threshold.value, reporter: new Reporter(io, args.quiet), io, pool };
  let reports: FileReport[];
  try {
    reports =
      dest.kind === 'stdout'
        ? await predictToStdout(run, refs[0] as InputRef)
        : dest.kind === 'combined'
          ? await predictCombined(run, refs, dest.path)
          : await predictToFiles(run, refs, paths);
  } finally {
    pool?.terminate();
  }
  for (const r of reports) if (r.error === null) for (const l of describe(r, run.threshold)) run.reporter.line(l);
  const refused = reports.filter((r) => r.error !== null).length;
  if (refused > 0 && reports.length > 1) run.reporter.line(`${pluralize(refused, 'file was', 'files were')} refused, ${formatCount(reports.length - refused)} scored.`);
  if (args.json) {
    const summary = { model: { name: bundle.json.name, version: bundle.json.version, sha256: bundle.onnxSha256, dir: bundle.dir }, threshold: run.threshold, only_flagged: args.onlyFlagged, files: reports.map(jsonReport) };
    await writeTo(io.stdout, new TextEncoder().encode(`${JSON.stringify(summary, null, 2)}\n`), 'standard output');
  }
  return refused > 0 ? EXIT_REFUSED : EXIT_OK;
}
