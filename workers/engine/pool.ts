/**
 * A small pool of parse workers. Each converts either a byte range of the file it reads itself (ranges.ts, for
 * quote-free files) or the bytes of complete records the engine's splitter hands it (`recordsToRows`, rows.ts),
 * and sends the rows back (buffers transferred). After a load the same workers write the download's top_sensors
 * texts of blocks of wafers (top-sensors.ts), on the cores the engine's own writing leaves free. The protocol
 * lives here so the worker script (`workers/parse.worker.ts`) and the tests (a MessageChannel stands in for a
 * Worker) share it.
 */
import type { EngineErrorCode } from '../api';
import { DEFAULT_SLICE_SIZE } from './csv';
import { EngineFailure } from './errors';
import { Explainer, type ExplainJson } from './explain';
import { rangeToRows, type RangeJob, type RangeResult } from './ranges';
import { chunkTransfer, recordsToRows, type RecordsJob, type RowsChunk, type RowsConfig } from './rows';
import { topSensorsFormatter } from './top-sensors';

/**
 * The top_sensors texts of `rows` wafers' readings (row-major, nFeatures each). The explainer's JSON comes with a
 * worker's first job for a model (`json`) and is kept; later jobs name the model by `model` only.
 */
export interface ExplainJob {
  model: number;
  json?: ExplainJson;
  nFeatures: number;
  readings: Float32Array;
  rows: number;
}

/** Records [from, to) of bytes the engine split, a range of the file the worker reads, or wafers to explain. */
type ParseJob = { job: RecordsJob; from: number; to: number; cfg: RowsConfig } | { range: RangeJob; cfg: RowsConfig } | { explain: ExplainJob };
export type ParseRequest = ParseJob & { id: number };

export interface SerializedError {
  name: string;
  message: string;
  code?: EngineErrorCode;
}

export type ParseReply =
  | { id: number; ok: true; chunk: RowsChunk }
  | { id: number; ok: true; range: RangeResult }
  | { id: number; ok: true; texts: string[] }
  | { id: number; ok: false; error: SerializedError }
  | { ready: true };

type OkReply = Extract<ParseReply, { ok: true }>;

/** Sent by a parse worker once its module has loaded. */
export const READY: ParseReply = { ready: true };

/** The worker's explainer: built from the first job of a model, kept for the next ones. */
let kept: { model: number; format: (readings: ArrayLike<number>) => string } | null = null;

function topSensorsTexts(job: ExplainJob): string[] {
  if (job.json) kept = { model: job.model, format: topSensorsFormatter(Explainer.fromValidJson(job.json, job.nFeatures)) };
  if (!kept || kept.model !== job.model) throw new Error(`a parse worker was asked to explain wafers of model ${job.model} without its explain.json`);
  const texts: string[] = [];
  for (let r = 0; r < job.rows; r++) texts.push(kept.format(job.readings.subarray(r * job.nFeatures, (r + 1) * job.nFeatures)));
  return texts;
}

/** The parse worker's side: run one request; returns the reply and the buffers to transfer. */
export async function handleParseRequest(req: ParseRequest): Promise<{ reply: ParseReply; transfer: ArrayBuffer[] }> {
  try {
    if ('explain' in req) return { reply: { id: req.id, ok: true, texts: topSensorsTexts(req.explain) }, transfer: [] };
    if ('range' in req) {
      const range = await rangeToRows(req.range, req.cfg);
      return { reply: { id: req.id, ok: true, range }, transfer: range.usable && range.chunk ? chunkTransfer(range.chunk) : [] };
    }
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
 * A reading of one of the shapes sensor files hold (the JIT optimizes for what it has seen, so each shape met
 * only in the real file would cost a deoptimization there): empty and NaN (missing), integers of either sign,
 * decimals of various lengths and signs, and exponent forms, which take the slower Number() path.
 */
function warmUpCell(c: number): string {
  if (c % 23 === 0) return '';
  if (c % 41 === 0) return 'NaN';
  if (c % 7 === 0) return String(c - 300);
  if (c % 13 === 0) return ((c + 1) * 1.37e-6).toExponential(3);
  const v = ((c * 37.1) / (c % 5 === 0 ? 1000 : 1)).toFixed(3 + (c % 4) * 2);
  return c % 11 === 0 ? `-${v}` : v;
}

/**
 * Rows the warm-up converts: enough that the JIT has compiled the conversion before the first load, and no more,
 * because the warm-up shares the cores with the model load and so delays "ready".
 */
export const PARSE_WARM_UP_ROWS = 512;

/**
 * Run the range path (read, split, Papa, conversion) on synthetic rows shaped like the sensor files (an id, 590
 * readings of the usual shapes, a label) before the worker reports itself ready, i.e. while the model loads;
 * returns the rows converted. The rows are distinct, as a real file's are: a block of rows repeated leaves part of
 * what the first load runs unoptimized.
 */
export async function warmUp(rows = PARSE_WARM_UP_ROWS, nFeatures = 590): Promise<number> {
  // Distinct rows, made cheaply: one formatted row, with one digit changed throughout per row.
  const row = Array.from({ length: nFeatures }, (_, c) => warmUpCell(c)).join(',');
  const parts: string[] = [];
  for (let r = 0; r < rows; r++) parts.push(`Wafer-${r + 1},${row.replaceAll('7', String(r % 10))},${r % 2 ? '1' : '-1'}\n`);
  const file = new Blob(parts);
  const featureOfColumn = [-1];
  for (let c = 0; c < nFeatures; c++) featureOfColumn.push(c);
  featureOfColumn.push(-1);
  const cfg: RowsConfig = {
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
  };
  // In slices like a real load's, so the same functions see the same shapes of work.
  let converted = 0;
  for (let start = 0; start < file.size; start += DEFAULT_SLICE_SIZE) {
    const range = await rangeToRows({ file, start, end: Math.min(file.size, start + DEFAULT_SLICE_SIZE), atRecordStart: start === 0 }, cfg);
    if (range.usable) converted += range.chunk?.rows ?? 0;
  }
  return converted;
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
  pending: Map<number, { resolve: (reply: OkReply) => void; reject: (e: Error) => void }>;
  ready: Promise<boolean>;
  /** The model whose explain.json the worker was last sent (it keeps one). */
  explainModel?: number;
}

/** How long a parse worker may take to load before the engine parses in-process instead. */
export const POOL_READY_TIMEOUT_MS = 15_000;

export class ParsePool {
  private slots: Slot[] | null = null;
  private nextId = 1;
  private broken = false;
  /** A number per explain.json object the pool was asked about, so a worker is sent each one once. */
  private readonly models = new WeakMap<ExplainJson, number>();
  private nextModel = 1;

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
      if (msg.ok) p.resolve(msg);
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
  async run(job: RecordsJob, from: number, to: number, cfg: RowsConfig): Promise<RowsChunk> {
    const reply = await this.send({ job, from, to, cfg }, [job.bytes.buffer as ArrayBuffer]);
    if (!('chunk' in reply)) throw new Error('a parse worker answered a records request with a range');
    return reply.chunk;
  }

  /** Read and convert the records that start in a range of the file, in the least busy worker. */
  async runRange(range: RangeJob, cfg: RowsConfig): Promise<RangeResult> {
    const reply = await this.send({ range, cfg }, []);
    if (!('range' in reply)) throw new Error('a parse worker answered a range request with records');
    return reply.range;
  }

  /**
   * The top_sensors texts of `rows` wafers' readings (row-major, `nFeatures` each; the buffer is transferred), in
   * the least busy worker; `json` goes to a worker only the first time it sees this model.
   */
  async topSensors(json: ExplainJson, nFeatures: number, readings: Float32Array, rows: number): Promise<string[]> {
    let model = this.models.get(json);
    if (model === undefined) this.models.set(json, (model = this.nextModel++));
    const job = (slot: Slot): ParseJob => {
      const first = slot.explainModel !== model;
      slot.explainModel = model;
      return { explain: { model, nFeatures, readings, rows, ...(first ? { json } : {}) } };
    };
    const reply = await this.send(job, [readings.buffer as ArrayBuffer]);
    if (!('texts' in reply)) throw new Error('a parse worker answered an explain request with rows');
    return reply.texts;
  }

  /** Send a job (or the job made for the chosen slot) to the least busy worker. */
  private send(job: ParseJob | ((slot: Slot) => ParseJob), transfer: Transferable[]): Promise<OkReply> {
    const slots = this.startSlots();
    if (this.broken || slots.length === 0) return Promise.reject(new Error('the parse workers are not available'));
    let slot = slots[0] as Slot;
    for (const s of slots) if (s.pending.size < slot.pending.size) slot = s;
    const request = typeof job === 'function' ? job(slot) : job;
    const id = this.nextId++;
    return new Promise<OkReply>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      const req: ParseRequest = { ...request, id };
      slot.worker.postMessage(req, transfer);
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
