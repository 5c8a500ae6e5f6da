/**
 * A small pool of parse workers: each runs `recordsToRows` (rows.ts) on the bytes of complete records the engine's
 * splitter hands it, and sends the rows back (buffers transferred). The protocol lives here so the worker script
 * (`workers/parse.worker.ts`) and the tests (a MessageChannel stands in for a Worker) share it.
 */
import type { EngineErrorCode } from '../api';
import { EngineFailure } from './errors';
import { chunkTransfer, recordsToRows, type RecordsJob, type RowsChunk, type RowsConfig } from './rows';

export interface ParseRequest {
  id: number;
  job: RecordsJob;
  from: number;
  to: number;
  cfg: RowsConfig;
}

export interface SerializedError {
  name: string;
  message: string;
  code?: EngineErrorCode;
}

export type ParseReply = { id: number; ok: true; chunk: RowsChunk } | { id: number; ok: false; error: SerializedError } | { ready: true };

/** Sent by a parse worker once its module has loaded. */
export const READY: ParseReply = { ready: true };

/** The parse worker's side: run one request; returns the reply and the buffers to transfer. */
export function handleParseRequest(req: ParseRequest): { reply: ParseReply; transfer: ArrayBuffer[] } {
  try {
    const chunk = recordsToRows(req.job, req.from, req.to, req.cfg);
    return { reply: { id: req.id, ok: true, chunk }, transfer: chunkTransfer(chunk) };
  } catch (e) {
    const error: SerializedError =
      e instanceof EngineFailure
        ? { name: 'EngineFailure', code: e.code, message: e.message }
        : { name: e instanceof Error ? e.name : 'Error', message: e instanceof Error ? e.message : String(e) };
    return { reply: { id: req.id, ok: false, error }, transfer: [] };
  }
}

/**
 * Run the parse once on a small synthetic slice (an id, 590 readings of the usual shapes, a label) so a new parse
 * worker's first real slice does not run cold (PapaParse and the cell conversion get compiled here, while the
 * page is still idle).
 */
export function warmUpParser(rows = 64, nFeatures = 590): void {
  const lines: string[] = [];
  for (let r = 0; r < rows; r++) {
    const cells = [`Wafer-${r + 1}`];
    for (let c = 0; c < nFeatures; c++) cells.push(c % 23 === 0 ? '' : c % 7 === 0 ? String(c - r) : ((c * 37.1 + r) / (c % 5 === 0 ? 1000 : 1)).toFixed(4));
    cells.push(r % 2 ? '1' : '-1');
    lines.push(cells.join(','));
  }
  const bytes = new TextEncoder().encode(lines.join('\n') + '\n');
  const job: RecordsJob = { bytes, starts: [], contentEnds: [], ends: [], lines: [], mixed: false };
  let at = 0;
  for (let r = 0; r < rows; r++) {
    const nl = bytes.indexOf(10, at);
    job.starts.push(at);
    job.contentEnds.push(nl);
    job.ends.push(nl + 1);
    job.lines.push(r + 2);
    at = nl + 1;
  }
  const featureOfColumn = [-1];
  for (let c = 0; c < nFeatures; c++) featureOfColumn.push(c);
  featureOfColumn.push(-1);
  recordsToRows(job, 0, rows, {
    delimiter: ',',
    lineEnding: '\n',
    decimalComma: false,
    nFeatures,
    ncol: nFeatures + 2,
    featureOfColumn,
    labelColumn: nFeatures + 1,
    idColumn: 0,
    failValues: ['1'],
    passValues: ['-1'],
  });
}

function revive(e: SerializedError): Error {
  if (e.name === 'EngineFailure' && e.code) return new EngineFailure(e.code, e.message);
  if (e.name === 'RangeError') return new RangeError(e.message);
  return new Error(e.message);
}

/** What the pool needs of a Worker (a MessagePort fits too). */
export interface WorkerLike {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (ev: MessageEvent) => void): void;
  addEventListener(type: 'error' | 'messageerror', listener: (ev: Event) => void): void;
  terminate(): void;
}

interface Slot {
  worker: WorkerLike;
  pending: Map<number, { resolve: (c: RowsChunk) => void; reject: (e: Error) => void }>;
  ready: Promise<boolean>;
}

/** How long a parse worker may take to load before the engine parses in-process instead. */
export const POOL_READY_TIMEOUT_MS = 15_000;

export class ParsePool {
  private slots: Slot[] | null = null;
  private nextId = 1;
  private broken = false;

  /** `start(i)` creates worker i; it may throw (no nested Worker support), which disables the pool. */
  constructor(
    private readonly start: (index: number) => WorkerLike,
    readonly size: number,
  ) {}

  private startSlots(): Slot[] {
    if (this.slots) return this.slots;
    const slots: Slot[] = [];
    try {
      for (let i = 0; i < this.size; i++) slots.push(this.startSlot(i));
    } catch {
      for (const s of slots) s.worker.terminate();
      this.broken = true;
      return (this.slots = []);
    }
    return (this.slots = slots);
  }

  private startSlot(index: number): Slot {
    const worker = this.start(index);
    const pending: Slot['pending'] = new Map();
    let markReady: (ok: boolean) => void = () => undefined;
    const ready = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), POOL_READY_TIMEOUT_MS);
      markReady = (ok) => {
        clearTimeout(timer);
        resolve(ok);
      };
    });
    const slot: Slot = { worker, pending, ready };
    worker.addEventListener('message', (ev: MessageEvent) => {
      const msg = ev.data as ParseReply;
      if ('ready' in msg) {
        markReady(true);
        return;
      }
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.chunk);
      else p.reject(revive(msg.error));
    });
    const die = (what: string) => {
      markReady(false);
      this.broken = true;
      for (const p of pending.values()) p.reject(new Error(`a parse worker stopped (${what})`));
      pending.clear();
    };
    worker.addEventListener('error', (ev: Event) => die((ev as ErrorEvent).message || 'worker error'));
    worker.addEventListener('messageerror', () => die('a message could not be read'));
    return slot;
  }

  /** Start the workers now (e.g. while the model loads), so the first load does not wait for them. */
  warm(): void {
    this.startSlots();
  }

  /** True when every worker has loaded; false (use the in-process path) when one failed or none could start. */
  async ready(): Promise<boolean> {
    if (this.broken) return false;
    const slots = this.startSlots();
    if (slots.length === 0) return false;
    const ok = (await Promise.all(slots.map((s) => s.ready))).every(Boolean);
    return ok && !this.broken;
  }

  /**
   * Convert records [from, to) of `job` in the least busy worker. `job.bytes` is transferred (the caller must
   * not use it afterwards); the chunk's buffers come back transferred.
   */
  run(job: RecordsJob, from: number, to: number, cfg: RowsConfig): Promise<RowsChunk> {
    const slots = this.startSlots();
    if (this.broken || slots.length === 0) return Promise.reject(new Error('the parse workers are not available'));
    let slot = slots[0] as Slot;
    for (const s of slots) if (s.pending.size < slot.pending.size) slot = s;
    const id = this.nextId++;
    const req: ParseRequest = { id, job, from, to, cfg };
    return new Promise<RowsChunk>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage(req, [job.bytes.buffer as ArrayBuffer]);
    });
  }

  terminate(): void {
    for (const s of this.slots ?? []) {
      s.worker.terminate();
      for (const p of s.pending.values()) p.reject(new Error('the parse workers were stopped'));
      s.pending.clear();
    }
    this.slots = null;
  }
}
