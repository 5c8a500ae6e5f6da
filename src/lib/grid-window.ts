/**
 * The grid's data model: at most one window of rows × columns, fetched from the engine through an async
 * callback (as FINOS regular-table asks its data model for (x0, y0, x1, y1)). No Svelte, no DOM.
 *
 * One fetch runs at a time; requests made while it runs are coalesced to the latest, so a fast scroll costs one
 * fetch for where it ended rather than one per scroll event.
 */
import type { GridWindow, Result, RowOrder, WindowRequest, WindowRow } from '../../workers/api';

export type FetchWindow = (request: WindowRequest) => Promise<Result<GridWindow>>;

/** Rows [rowStart, rowEnd) (positions in the order) × columns [colStart, colEnd). */
export interface WindowSpan {
  rowStart: number;
  rowEnd: number;
  colStart: number;
  colEnd: number;
}

export interface WindowWant {
  /** What the view draws: the loaded window must cover it. */
  need: WindowSpan;
  /** What to fetch when it does not (the need plus some margin, so small scrolls need no fetch). */
  fetch: WindowSpan;
  /** The data version the rows must be read at. */
  version: number;
  order: RowOrder;
  /** A batch: the one file shown (its index), or null for all. */
  source?: number | null;
  /** Rows in the table: a window that reaches the last row covers any need past it. */
  rowCount: number;
}

export interface LoadedWindow extends GridWindow {
  colStart: number;
  colCount: number;
  order: RowOrder;
  source?: number | null;
}

/** Whether the window was read at this version and order and holds every row and column of the need. */
export function windowCovers(window: LoadedWindow | null, want: WindowWant): boolean {
  if (!window || window.version !== want.version || window.order !== want.order || (window.source ?? null) !== (want.source ?? null)) return false;
  const { need } = want;
  const loadedRowsEnd = window.start + window.rows.length;
  const rowsOk = need.rowStart >= window.start && (need.rowEnd <= loadedRowsEnd || loadedRowsEnd >= want.rowCount);
  const colsOk = need.colStart >= window.colStart && need.colEnd <= window.colStart + window.colCount;
  return rowsOk && colsOk;
}

/** The row at a position in the order, or null when it is not in the window. */
export function windowRowAt(window: LoadedWindow | null, pos: number): WindowRow | null {
  if (!window || pos < window.start) return null;
  return window.rows[pos - window.start] ?? null;
}

/** A cell's text from one of the window's rows, or null when the column is not in the window. */
export function windowCellText(window: LoadedWindow | null, row: WindowRow, col: number): string | null {
  if (!window || col < window.colStart) return null;
  return row.cells[col - window.colStart] ?? null;
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameRow(a: WindowRow, b: WindowRow): boolean {
  return a.row === b.row && a.name === b.name && a.source === b.source && a.probability === b.probability && a.modelReadings === b.modelReadings && sameList(a.cells, b.cells) && sameList(a.issueCols, b.issueCols) && sameList(a.editedCols, b.editedCols);
}

/**
 * The new window with every row that did not change taken from the previous one, so that the view redraws only
 * what changed (after an edit: one row) rather than every row of the window.
 */
export function keepUnchangedRows(previous: LoadedWindow | null, next: LoadedWindow): LoadedWindow {
  if (!previous || previous.colStart !== next.colStart || previous.colCount !== next.colCount || (previous.source ?? null) !== (next.source ?? null)) return next;
  let kept = 0;
  const rows = next.rows.map((row, i) => {
    const before = windowRowAt(previous, next.start + i);
    if (before && sameRow(before, row)) {
      kept++;
      return before;
    }
    return row;
  });
  return kept === 0 ? next : { ...next, rows };
}

function toRequest(want: WindowWant): WindowRequest {
  const { rowStart, rowEnd, colStart, colEnd } = want.fetch;
  const request: WindowRequest = { start: rowStart, count: Math.max(1, rowEnd - rowStart), colStart, colCount: colEnd - colStart, order: want.order };
  if (want.source !== undefined && want.source !== null) request.source = want.source;
  return request;
}

export class GridWindowCache {
  #loaded: LoadedWindow | null = null;
  #latest: WindowWant | null = null;
  #running: Promise<void> | null = null;
  /** Bumped by reset(), so a fetch still running for the previous file is dropped. */
  #generation = 0;

  /** onChange hears every new (or forgotten) window, for the view to redraw. */
  constructor(
    private readonly fetchWindow: FetchWindow,
    private readonly onChange: (window: LoadedWindow | null) => void = () => {},
  ) {}

  get loaded(): LoadedWindow | null {
    return this.#loaded;
  }

  covers(want: WindowWant): boolean {
    return windowCovers(this.#loaded, want);
  }

  /** Make sure the window covers the want; resolves when the fetches this started (if any) are done. */
  request(want: WindowWant): Promise<void> {
    this.#latest = want;
    if (!this.#running) {
      this.#running = this.#fetchUntilCovered().finally(() => {
        this.#running = null;
      });
    }
    return this.#running;
  }

  /**
   * Forget the window (a new file): nothing fetched before may be drawn again. A fetch still running is dropped
   * and the latest want fetched anew, whether the view asked for it before or after the reset.
   */
  reset(): void {
    this.#generation++;
    this.#setLoaded(null);
  }

  async #fetchUntilCovered(): Promise<void> {
    let want = this.#latest;
    while (want && want.rowCount > 0 && !this.covers(want)) {
      const generation = this.#generation;
      const result = await this.fetchWindow(toRequest(want));
      if (generation !== this.#generation) {
        want = this.#latest;
        continue;
      }
      if (result.ok) {
        const { colStart, colEnd } = want.fetch;
        this.#setLoaded(keepUnchangedRows(this.#loaded, { ...result.value, colStart, colCount: colEnd - colStart, order: want.order, source: want.source ?? null }));
      }
      // Only a newer want is worth another fetch: asking again for the same one would get the same answer
      // (an error, or rows at another version, which the next version change will ask for anew).
      if (this.#latest === want) return;
      want = this.#latest;
    }
  }

  #setLoaded(window: LoadedWindow | null): void {
    this.#loaded = window;
    this.onChange(window);
  }
}
