/**
 * The grid's window cache (grid-window.ts): what the loaded window covers, one fetch at a time with the requests
 * made meanwhile coalesced to the latest, a new data version refetches, a failed fetch keeps the old window.
 */
import { describe, expect, test } from 'vitest';
import { GridWindowCache, keepUnchangedRows, windowCellText, windowCovers, windowRowAt, type LoadedWindow, type WindowWant } from '../../src/lib/grid-window';
import type { GridWindow, Result, WindowRequest, WindowRow } from '../../workers/api';

const ROWS = 1000;

function row(pos: number, colStart: number, colCount: number): WindowRow {
  const cells = Array.from({ length: colCount }, (_, i) => `r${pos}c${colStart + i}`);
  return { row: pos, name: `W${pos}`, cells, issueCols: [], editedCols: [], probability: null, modelReadings: 39, outOfRange: 0 };
}

function windowFor(request: WindowRequest, version: number): GridWindow {
  const end = Math.min(ROWS, request.start + request.count);
  const rows: WindowRow[] = [];
  for (let pos = request.start; pos < end; pos++) rows.push(row(pos, request.colStart, request.colCount));
  return { start: request.start, rows, version };
}

/** A fake engine whose answers the test releases one at a time. */
class FakeEngine {
  version = 1;
  requests: WindowRequest[] = [];
  private pending: { request: WindowRequest; resolve: (result: Result<GridWindow>) => void }[] = [];

  readonly fetch = (request: WindowRequest): Promise<Result<GridWindow>> => {
    this.requests.push(request);
    return new Promise((resolve) => this.pending.push({ request, resolve }));
  };

  get inFlight(): number {
    return this.pending.length;
  }

  answer(): void {
    const next = this.pending.shift();
    if (!next) throw new Error('no request to answer');
    next.resolve({ ok: true, value: windowFor(next.request, this.version) });
  }

  fail(): void {
    const next = this.pending.shift();
    if (!next) throw new Error('no request to fail');
    next.resolve({ ok: false, error: { code: 'internal', message: 'boom' } });
  }
}

/** Rows [first, first + 20) and columns [0, 10) needed, fetched with a margin of 30 rows and 6 columns. */
function want(first: number, version = 1, order: WindowWant['order'] = 'file'): WindowWant {
  return {
    need: { rowStart: first, rowEnd: Math.min(ROWS, first + 20), colStart: 0, colEnd: 10 },
    fetch: { rowStart: Math.max(0, first - 30), rowEnd: Math.min(ROWS, first + 50), colStart: 0, colEnd: 16 },
    version,
    order,
    rowCount: ROWS,
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('windowCovers', () => {
  const loaded: LoadedWindow = { ...windowFor({ start: 100, count: 80, colStart: 0, colCount: 16, order: 'file' }, 1), colStart: 0, colCount: 16, order: 'file' };

  test('covers a need inside it at its version and order', () => {
    expect(windowCovers(loaded, want(130))).toBe(true);
    expect(windowCovers(loaded, want(100))).toBe(true);
    expect(windowCovers(loaded, want(160))).toBe(true);
  });

  test('does not cover rows or columns outside it', () => {
    expect(windowCovers(loaded, want(99))).toBe(false);
    expect(windowCovers(loaded, want(161))).toBe(false);
    const wide = want(130);
    expect(windowCovers(loaded, { ...wide, need: { ...wide.need, colEnd: 17 } })).toBe(false);
  });

  test('does not cover at another version or order, nor when nothing is loaded', () => {
    expect(windowCovers(loaded, want(130, 2))).toBe(false);
    expect(windowCovers(loaded, want(130, 1, 'probability-desc'))).toBe(false);
    expect(windowCovers(null, want(130))).toBe(false);
  });

  test('a window that reaches the last row covers any need past its end', () => {
    const tail: LoadedWindow = { ...windowFor({ start: 950, count: 80, colStart: 0, colCount: 16, order: 'file' }, 1), colStart: 0, colCount: 16, order: 'file' };
    expect(tail.rows.length).toBe(50);
    expect(windowCovers(tail, { ...want(990), need: { rowStart: 990, rowEnd: 1004, colStart: 0, colEnd: 10 } })).toBe(true);
  });

  test('rows and cells are looked up by position and absolute column', () => {
    const r = windowRowAt(loaded, 120);
    expect(r?.name).toBe('W120');
    expect(windowRowAt(loaded, 99)).toBeNull();
    expect(windowRowAt(loaded, 180)).toBeNull();
    expect(r && windowCellText(loaded, r, 15)).toBe('r120c15');
    expect(r && windowCellText(loaded, r, 16)).toBeNull();
  });
});

describe('GridWindowCache', () => {
  test('fetches what is not covered and then answers from the window', async () => {
    const engine = new FakeEngine();
    const seen: (LoadedWindow | null)[] = [];
    const cache = new GridWindowCache(engine.fetch, (w) => seen.push(w));
    const done = cache.request(want(0));
    expect(engine.requests).toEqual([{ start: 0, count: 50, colStart: 0, colCount: 16, order: 'file' }]);
    engine.answer();
    await done;
    expect(seen).toHaveLength(1);
    expect(cache.covers(want(10))).toBe(true);
    await cache.request(want(10));
    expect(engine.requests).toHaveLength(1);
  });

  test('runs one fetch at a time and coalesces the requests made meanwhile to the latest', async () => {
    const engine = new FakeEngine();
    const cache = new GridWindowCache(engine.fetch);
    const done = cache.request(want(0));
    for (const first of [200, 300, 400, 500]) void cache.request(want(first));
    expect(engine.inFlight).toBe(1);
    engine.answer();
    await settle();
    expect(engine.requests.map((r) => r.start)).toEqual([0, 470]);
    engine.answer();
    await done;
    expect(engine.requests).toHaveLength(2);
    expect(cache.loaded?.start).toBe(470);
    expect(cache.covers(want(500))).toBe(true);
  });

  test('a newer data version refetches, and the window keeps the version it was read at', async () => {
    const engine = new FakeEngine();
    const cache = new GridWindowCache(engine.fetch);
    const first = cache.request(want(0, 1));
    engine.answer();
    await first;
    expect(cache.loaded?.version).toBe(1);
    engine.version = 2;
    const second = cache.request(want(0, 2));
    expect(engine.requests).toHaveLength(2);
    engine.answer();
    await second;
    expect(cache.loaded?.version).toBe(2);
    expect(cache.covers(want(0, 2))).toBe(true);
  });

  test('a window read at another version than asked is kept, not refetched in a loop', async () => {
    const engine = new FakeEngine();
    engine.version = 7;
    const cache = new GridWindowCache(engine.fetch);
    const done = cache.request(want(0, 6));
    engine.answer();
    await done;
    expect(engine.requests).toHaveLength(1);
    expect(cache.loaded?.version).toBe(7);
    expect(cache.covers(want(0, 7))).toBe(true);
  });

  test('another order refetches', async () => {
    const engine = new FakeEngine();
    const cache = new GridWindowCache(engine.fetch);
    const first = cache.request(want(0));
    engine.answer();
    await first;
    const sorted = cache.request(want(0, 1, 'probability-desc'));
    expect(engine.requests.at(-1)?.order).toBe('probability-desc');
    engine.answer();
    await sorted;
    expect(cache.loaded?.order).toBe('probability-desc');
  });

  test('an error keeps the old window, and the next request tries again', async () => {
    const engine = new FakeEngine();
    const cache = new GridWindowCache(engine.fetch);
    const first = cache.request(want(0));
    engine.answer();
    await first;
    const old = cache.loaded;
    const failing = cache.request(want(600));
    engine.fail();
    await failing;
    expect(cache.loaded).toBe(old);
    expect(engine.requests).toHaveLength(2);
    const retry = cache.request(want(600));
    expect(engine.requests).toHaveLength(3);
    engine.answer();
    await retry;
    expect(cache.covers(want(600))).toBe(true);
  });

  test('reset forgets the window, drops a fetch still running for the old file and fetches the latest want anew', async () => {
    const engine = new FakeEngine();
    const seen: (LoadedWindow | null)[] = [];
    const cache = new GridWindowCache(engine.fetch, (w) => seen.push(w));
    const done = cache.request(want(0));
    cache.reset();
    expect(seen).toEqual([null]);
    engine.version = 2; // the new file's rows
    engine.answer();
    await settle();
    expect(cache.loaded).toBeNull();
    expect(engine.requests).toHaveLength(2);
    void cache.request(want(0, 2));
    engine.answer();
    await done;
    expect(seen).toHaveLength(2);
    expect(cache.loaded?.version).toBe(2);
    expect(cache.covers(want(0, 2))).toBe(true);
  });

  test('an empty table fetches nothing', async () => {
    const engine = new FakeEngine();
    const cache = new GridWindowCache(engine.fetch);
    await cache.request({ ...want(0), rowCount: 0, need: { rowStart: 0, rowEnd: 0, colStart: 0, colEnd: 0 } });
    expect(engine.requests).toHaveLength(0);
  });
});

describe('keepUnchangedRows', () => {
  const loaded = (start: number, version: number, edit?: (r: WindowRow) => WindowRow): LoadedWindow => {
    const w = windowFor({ start, count: 5, colStart: 10, colCount: 4, order: 'file' }, version);
    return { ...w, rows: w.rows.map((r) => (edit && r.row === 2 ? edit(r) : r)), colStart: 10, colCount: 4, order: 'file' };
  };

  test('after an edit only the changed row is new; the others are the objects already drawn', () => {
    const before = loaded(0, 1);
    const after = keepUnchangedRows(before, loaded(0, 2, (r) => ({ ...r, cells: ['x', ...r.cells.slice(1)], editedCols: [10], probability: 0.5 })));
    expect(after.version).toBe(2);
    after.rows.forEach((r, i) => (i === 2 ? expect(r).not.toBe(before.rows[i]) : expect(r).toBe(before.rows[i])));
    expect(after.rows[2]!.cells[0]).toBe('x');
  });

  test('rows are matched by position, and windows over other columns share nothing', () => {
    const before = loaded(0, 1);
    const shifted = keepUnchangedRows(before, loaded(2, 2));
    expect(shifted.rows[0]).toBe(before.rows[2]);
    expect(shifted.rows[3]).not.toBe(before.rows[3]);
    const otherColumns = { ...loaded(0, 2), colStart: 11 };
    expect(keepUnchangedRows(before, otherColumns)).toBe(otherColumns);
    expect(keepUnchangedRows(null, before)).toBe(before);
  });
});
