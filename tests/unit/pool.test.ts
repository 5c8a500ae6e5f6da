/**
 * The pooled load path (parse workers) against the in-process one: the same shared conversion (rows.ts) runs
 * behind a MessageChannel with structured clone + transfer, replies arrive out of order, and every result must be
 * identical to the in-process load's.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { MessageChannel } from 'node:worker_threads';
import { afterAll, describe, expect, test } from 'vitest';
import { CancelToken, EngineFailure } from '../../workers/engine/errors';
import { Model } from '../../workers/engine/model';
import { handleParseRequest, ParsePool, READY, PARSE_WARM_UP_ROWS, warmUp, type ParseRequest, type WorkerLike } from '../../workers/engine/pool';
import { recordsToRows, type RecordsJob, type RowsConfig } from '../../workers/engine/rows';
import { loadSession } from '../../workers/engine/load';
import type { Session } from '../../workers/engine/session';
import { createEngine } from '../../workers/engine/engine';
import { exportCsv } from '../../workers/engine/export';
import { Explainer } from '../../workers/engine/explain';
import { pooledTopSensorsColumn, topSensorsColumn } from '../../workers/engine/wafer-explain';
import { SAMPLE, blobText, fileFromDisk, fileFromText, explainBytes, explainJson, modelJson, onnxBytes, path, setCell, unwrap, loadSummary, THRESHOLD } from './helpers';

/** Requests the channel workers have handled (the pooled path must really be taken), and of which kind. */
let handled = 0;
const kinds = { range: 0, records: 0, explain: 0 };

/** A "worker" on a MessageChannel running the parse worker's handler, replying after a random short delay. */
function channelWorker(seed: number, refuseExplain = false): WorkerLike {
  const { port1, port2 } = new MessageChannel();
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
  port2.on('message', (req: ParseRequest) => {
    handled++;
    kinds['explain' in req ? 'explain' : 'range' in req ? 'range' : 'records']++;
    setTimeout(() => {
      if (refuseExplain && 'explain' in req) return port2.postMessage({ id: req.id, ok: false, error: { name: 'Error', message: 'out of memory' } });
      void handleParseRequest(req).then(({ reply, transfer }) => port2.postMessage(reply, transfer));
    }, Math.floor(rand() * 4));
  });
  port2.postMessage(READY);
  const w = port1 as unknown as { addEventListener: WorkerLike['addEventListener']; start(): void };
  return {
    postMessage: (m, t) => port1.postMessage(m, t as never),
    addEventListener: ((type: string, fn: (ev: Event) => void) => {
      (w.addEventListener as (t: string, f: (ev: Event) => void) => void)(type, fn);
      w.start();
    }) as WorkerLike['addEventListener'],
    terminate: () => {
      port1.close();
      port2.close();
    },
  };
}

const pools: ParsePool[] = [];
const poolOf = (size: number) => {
  const p = new ParsePool((i) => channelWorker(17 + i), size);
  pools.push(p);
  return p;
};
afterAll(() => {
  for (const p of pools) p.terminate();
});

let modelPromise: Promise<Model> | null = null;
const model = () => (modelPromise ??= Model.create(modelJson, onnxBytes));

async function load(file: File, pool: ParsePool | undefined, sliceSize: number): Promise<Session> {
  return loadSession(file, await model(), { fileName: file.name, token: new CancelToken(), pool, sliceSize });
}

async function outcome(file: File, pool: ParsePool | undefined, sliceSize: number): Promise<{ ok: true; s: Session } | { ok: false; code: string; message: string }> {
  try {
    return { ok: true, s: await load(file, pool, sliceSize) };
  } catch (e) {
    if (e instanceof EngineFailure) return { ok: false, code: e.code, message: e.message };
    throw e;
  }
}

/** Everything a load produces, in comparable form (matrices compared bit for bit). */
function snapshot(s: Session) {
  const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
  return {
    summary: s.summary,
    header: s.header,
    headerStart: s.headerStart,
    rows: s.rows,
    matrix: bytes(s.matrix),
    labels: Array.from(s.labels),
    ids: s.ids,
    rowFlags: Array.from(s.rowFlags),
    rowStart: Array.from(s.rowStart),
    rowContentEnd: Array.from(s.rowContentEnd),
    rowLine: Array.from(s.rowLine),
    probabilities: bytes(s.probabilities),
    modelReadings: Array.from(s.modelReadings),
    widestRow: s.widestRow,
    predicted: s.predicted,
  };
}

const corpus = readdirSync(path('tests/fixtures/bad'))
  .filter((f) => f.endsWith('.csv'))
  .map((f) => `tests/fixtures/bad/${f}`);

describe('pooled load = in-process load', () => {
  test.each([...corpus, SAMPLE, 'tests/fixtures/wafer/test2.csv'])('%s (tiny slices, 2 workers)', async (rel) => {
    const file = fileFromDisk(rel);
    for (const sliceSize of [512, 4096]) {
      const a = await outcome(file, undefined, sliceSize);
      const pool = poolOf(2);
      expect(await pool.ready()).toBe(true);
      const before = handled;
      const b = await outcome(file, pool, sliceSize);
      if (file.size > sliceSize * 2 && a.ok) expect(handled).toBeGreaterThan(before);
      if (a.ok && b.ok) expect(snapshot(b.s)).toEqual(snapshot(a.s));
      else expect(b).toEqual(a);
    }
  });

  test('a malformed row deep in the file: same error and line through the pool', async () => {
    const text = readFileSync(path(SAMPLE), 'utf8').split('\n');
    text.splice(60, 0, 'Wafer-x,"1,2');
    const file = fileFromText(text.join('\n'), 'stray-quote.csv');
    const a = await outcome(file, undefined, 4096);
    const b = await outcome(file, poolOf(2), 4096);
    expect(a.ok).toBe(false);
    expect(b).toEqual(a);
  });

  test('a quote-free file loads in ranges; from a quote on, in split slices; both as in-process', async () => {
    const lines = readFileSync(path(SAMPLE), 'utf8').split('\n');
    const plain = fileFromText(lines.join('\n'), 'plain.csv');
    let before = { ...kinds };
    const a = await load(plain, poolOf(2), 4096);
    expect(kinds.range - before.range).toBeGreaterThanOrEqual(Math.floor(plain.size / 4096) - 1);
    expect(kinds.records - before.records).toBe(0);
    expect(snapshot(a)).toEqual(snapshot(await load(plain, undefined, 4096)));

    // A quoted id (valid CSV) half-way: the ranges before it stay, the rest is split here.
    const quotedLines = [...lines];
    quotedLines[60] = quotedLines[60]?.replace(/^[^,]*/, '"Wafer, quoted"') ?? '';
    const quoted = fileFromText(quotedLines.join('\n'), 'quoted.csv');
    before = { ...kinds };
    const b = await load(quoted, poolOf(2), 4096);
    expect(kinds.range - before.range).toBeGreaterThan(10);
    expect(kinds.records - before.records).toBeGreaterThan(10);
    const c = await load(quoted, undefined, 4096);
    expect(snapshot(b)).toEqual(snapshot(c));
    expect(c.ids?.[59]).toBe('Wafer, quoted');
  });

  test('invalid UTF-8 deep in the file: the same message and line through the ranges', async () => {
    const text = new TextEncoder().encode(readFileSync(path(SAMPLE), 'utf8'));
    const at = text.length - 20_000;
    const bytes = new Uint8Array(text);
    bytes[at] = 0xff;
    const file = fileFromText(bytes, 'bad-utf8.csv');
    const a = await outcome(file, undefined, 4096);
    expect(a.ok).toBe(false);
    expect(!a.ok && a.message).toMatch(/near line \d+/);
    expect(await outcome(file, poolOf(2), 4096)).toEqual(a);
  });

  test('a pool that cannot start falls back to the in-process path', async () => {
    const file = fileFromDisk(SAMPLE);
    const a = snapshot(await load(file, undefined, 4096));
    const noWorkers = new ParsePool(() => {
      throw new Error('no nested Worker');
    }, 2);
    expect(snapshot(await load(file, noWorkers, 4096))).toEqual(a);
    expect(await noWorkers.ready()).toBe(false);
  });

  test('the engine with a pool: load, cancel mid-load, load again', async () => {
    const pool = poolOf(2);
    const engine = createEngine({ sliceSize: 2048, pool });
    unwrap(await engine.initFromBytes(modelJson, onnxBytes, { explain: explainBytes }));
    const file = fileFromDisk(SAMPLE);
    let calls = 0;
    const r = await engine.load(file, THRESHOLD, () => {
      if (++calls === 3) void engine.cancel();
    });
    expect(r.ok === false && r.error.code).toBe('cancelled');
    const summary = unwrap(await loadSummary(engine, file));
    expect(summary.rows).toBe(100);
    const plain = createEngine({ sliceSize: 2048 });
    unwrap(await plain.initFromBytes(modelJson, onnxBytes, { explain: explainBytes }));
    expect(summary).toEqual(unwrap(await loadSummary(plain, file)));
  });
});

describe('the pooled path stops at content that is no CSV', () => {
  test('a NUL tail: the range is unusable, the sequential path reports the line, and nothing is read on', async () => {
    const engine = createEngine({ pool: poolOf(2) });
    unwrap(await engine.initFromBytes(modelJson, onnxBytes, { explain: explainBytes }));
    const sample = readFileSync(path(SAMPLE));
    // 64 MB of zeros, read in 1 MB ranges: before, each range's last record was read "as much again" to the end.
    const r = await engine.load(new File([sample, new Uint8Array(64 << 20)], 'padded.csv'), THRESHOLD);
    expect(r.ok === false && r.error).toEqual({
      code: 'not-text',
      message:
        'This file is not a text CSV file: line 102 (byte 343,974) holds binary data (a NUL byte), as in a file padded with zeros by a failed copy. ' +
        'Reading stopped there. Please upload the CSV export of your sensor readings.',
    });
  });
});

describe('recordsToRows (the shared conversion)', () => {
  const cfg: RowsConfig = {
    delimiter: ',',
    lineEnding: '\n',
    decimalComma: false,
    nFeatures: 3,
    ncol: 5,
    featureOfColumn: [-1, 0, 1, 2, -1],
    labelColumn: 4,
    idColumn: 0,
    failValues: ['1'],
    passValues: ['-1'],
  };
  const jobOf = (text: string, firstLine = 2): RecordsJob => {
    const bytes = new TextEncoder().encode(text);
    const job: RecordsJob = { bytes, starts: [], contentEnds: [], ends: [], lines: [], mixed: false };
    let at = 0;
    let line = firstLine;
    while (at < bytes.length) {
      const nl = bytes.indexOf(10, at);
      const end = nl === -1 ? bytes.length : nl;
      job.starts.push(at);
      job.contentEnds.push(end);
      job.ends.push(nl === -1 ? end : end + 1);
      job.lines.push(line++);
      at = nl === -1 ? bytes.length : nl + 1;
    }
    return job;
  };

  test('values, missing cells, issues, labels, ids, short and long rows, blank lines', () => {
    const job = jobOf('W1,1.5,,2e3,1\n\nW2,abc,=SUM(A1),inf,-1\nW3,4\nW4,1,2,3,-1,extra\n');
    const c = recordsToRows(job, 0, job.starts.length, cfg);
    expect(c.rows).toBe(4);
    expect(Array.from(c.records)).toEqual([0, 2, 3, 4]);
    expect(Array.from(c.matrix)).toEqual([1.5, NaN, 2000, NaN, NaN, NaN, 4, NaN, NaN, 1, 2, 3]);
    expect(Array.from(c.labels)).toEqual([1, 0, -1, 0]);
    expect(c.ids).toEqual(['W1', 'W2', 'W3', 'W4']);
    expect(c.missingCells).toBe(1 + 2);
    expect(c.cellIssueCount).toBe(3);
    expect(c.nonFiniteCount).toBe(1);
    expect(c.formulaLikeCells).toBe(1);
    expect(c.cellIssues.map((x) => [x.row, x.col, x.raw])).toEqual([
      [1, 1, 'abc'],
      [1, 2, '=SUM(A1)'],
      [1, 3, 'inf'],
    ]);
    expect(c.rowShapeIssueCount).toBe(2);
    expect(c.rowShapeIssues).toEqual([
      { row: 2, line: 5, fields: 2, expected: 5 },
      { row: 3, line: 6, fields: 6, expected: 5 },
    ]);
    expect(Array.from(c.flags)).toEqual([0, 1, 2, 4]);
    expect([c.widestRow, c.extraFilledFields]).toEqual([6, 1]);
    expect([c.fails, c.passes, c.unknown]).toEqual([1, 2, 1]);
  });

  test('a sub-range of a job, and the parse worker handler, give the same rows', async () => {
    const job = jobOf('W1,1,2,3,1\nW2,4,5,6,-1\nW3,7,8,9,1\n');
    const sub = recordsToRows(job, 1, 3, cfg);
    expect(Array.from(sub.records)).toEqual([1, 2]);
    expect(Array.from(sub.matrix)).toEqual([4, 5, 6, 7, 8, 9]);
    const { reply, transfer } = await handleParseRequest({ id: 7, job: jobOf('W1,1,2,3,1\nW2,4,5,6,-1\nW3,7,8,9,1\n'), from: 1, to: 3, cfg });
    expect(reply).toEqual({ id: 7, ok: true, chunk: sub });
    expect(transfer).toHaveLength(4);
    const bad = await handleParseRequest({ id: 8, job: jobOf('W1,"1,2,3,1\n'), from: 0, to: 1, cfg });
    expect(bad.reply).toMatchObject({ id: 8, ok: false, error: { name: 'EngineFailure', code: 'malformed-csv' } });
  });

  test('the warm-up parse runs', async () => {
    expect(await warmUp(100)).toBe(100);
    expect(await warmUp()).toBe(PARSE_WARM_UP_ROWS);
  });
});

describe('the top_sensors column written ahead in the parse workers', () => {
  const explainer = Explainer.fromJson(explainJson, modelJson.features);
  const options = { threshold: THRESHOLD, onlyFlagged: false };
  const run = { token: new CancelToken(), sliceSize: 4096 };
  const download = async (s: Session, column: ReturnType<typeof topSensorsColumn>) => blobText((await exportCsv(s, options, run, [column])).blob);

  test('equals the in-process column: blocks of 7 wafers over small slices, wafers not scored left empty', async () => {
    for (const name of [SAMPLE, 'tests/fixtures/bad/low-coverage.csv']) {
      const s = await load(fileFromDisk(name), undefined, 4096);
      const before = kinds.explain;
      const pooled = await download(s, pooledTopSensorsColumn(s, explainer, poolOf(2), { blockRows: 7, ahead: 3 }));
      expect(kinds.explain - before).toBe(Math.ceil(s.rows / 7));
      const local = await download(s, topSensorsColumn(s, explainer));
      expect(pooled).toBe(local);
      expect(local.split('\n')[1]?.split(',').at(-1)).toMatch(/^Sensor-\d+ \([+−]\d\.\d\d\)/);
    }
    const lowCoverage = await load(fileFromDisk('tests/fixtures/bad/low-coverage.csv'), undefined, 4096);
    expect(Array.from(lowCoverage.probabilities).some(Number.isNaN)).toBe(true);
  });

  test('a block a worker fails is written here, the same', async () => {
    const s = await load(fileFromDisk(SAMPLE), undefined, 4096);
    const failing = new ParsePool((i) => channelWorker(5 + i, true), 2);
    pools.push(failing);
    expect(await download(s, pooledTopSensorsColumn(s, explainer, failing, { blockRows: 16 }))).toBe(await download(s, topSensorsColumn(s, explainer)));
  });

  /** The sample's download with top_sensors after an edit, by an engine with or without a pool; checks which path ran. */
  async function editedTopDownload(pool: ParsePool | undefined): Promise<string> {
    const engine = createEngine({ sliceSize: 2048, ...(pool ? { pool } : {}) });
    unwrap(await engine.initFromBytes(modelJson, onnxBytes, { explain: explainBytes }));
    unwrap(await engine.load(fileFromDisk(SAMPLE), THRESHOLD));
    unwrap(await setCell(engine, 3, 60, '12345'));
    const before = kinds.explain;
    const text = await blobText(unwrap(await engine.exportCsv({ ...options, topSensors: true })).blob);
    expect(kinds.explain > before).toBe(pool !== undefined);
    return text;
  }

  test('through the engine with a pool, after an edit: the same file as an engine without one', async () => {
    expect(await editedTopDownload(poolOf(2))).toBe(await editedTopDownload(undefined));
  });
});
