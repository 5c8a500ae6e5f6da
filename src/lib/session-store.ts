/**
 * The user's file and edits, kept in this browser's own storage (IndexedDB: it never leaves the machine), so that
 * a reload or a crashed tab can offer to bring them back. One session is kept: the file last opened.
 */
import type { CellEdit, ModelSource } from '../../workers/api';
import type { EditIssue } from './app.svelte';

/** The model a kept file was open with, so that a restore never applies its edits against another model silently. */
export interface StoredModel {
  name: string;
  version: string;
  /** sha256 of its ONNX file: what tells two models apart. */
  sha256: string;
  source: ModelSource;
  /** The bundle's own files when it came from one (small), so a restore can switch to it again. */
  bundle: File[] | null;
}

/** The edits of the stored file: kept apart from it, so an edit rewrites a few bytes, not the file. */
export interface StoredEdits {
  /** Every edit in the order made (a later one of the same cell wins), as the restart replays them. */
  edits: CellEdit[];
  /** The edited cells that differ from the uploaded file ("row:col"), and those that are not valid readings. */
  edited: string[];
  issues: EditIssue[];
  threshold: number;
}

export interface StoredSession extends StoredEdits {
  file: File;
  savedAt: number;
  /** null for a session kept before the page recorded its model. */
  model: StoredModel | null;
}

export interface SessionStore {
  read(): Promise<StoredSession | null>;
  /** A newly opened file: replaces the stored one, with no edits. */
  writeFile(file: File, threshold: number, model: StoredModel): Promise<void>;
  writeEdits(edits: StoredEdits): Promise<void>;
  /** The kept file is now open with another model (its edits carried over). */
  writeModel(model: StoredModel): Promise<void>;
  clear(): Promise<void>;
}

const DB_NAME = 'sensor-fault-detection';
const STORE = 'session';
const FILE_KEY = 'file';
const EDITS_KEY = 'edits';

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

function openDb(): Promise<IDBDatabase> {
  const req = indexedDB.open(DB_NAME, 1);
  req.onupgradeneeded = () => req.result.createObjectStore(STORE);
  return request(req);
}

async function withStore<T>(mode: IDBTransactionMode, run: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await openDb();
  try {
    return await request(run(db.transaction(STORE, mode).objectStore(STORE)));
  } finally {
    db.close();
  }
}

function noEdits(threshold: number): StoredEdits {
  return { edits: [], edited: [], issues: [], threshold };
}

/** The browser's IndexedDB; the File is stored as a Blob (Chromium keeps it on disk, not in memory). */
interface KeptFile {
  file: File;
  savedAt: number;
  threshold: number;
  model?: StoredModel;
}

const readKeptFile = async () => (await withStore('readonly', (s) => s.get(FILE_KEY))) as KeptFile | undefined;

export const indexedDbSessionStore: SessionStore = {
  read: async () => {
    const kept = await readKeptFile();
    if (!kept) return null;
    const edits = ((await withStore('readonly', (s) => s.get(EDITS_KEY))) as StoredEdits | undefined) ?? noEdits(kept.threshold);
    return { ...edits, file: kept.file, savedAt: kept.savedAt, model: kept.model ?? null };
  },
  writeFile: async (file, threshold, model) => {
    await withStore('readwrite', (s) => s.delete(EDITS_KEY));
    await withStore('readwrite', (s) => s.put({ file, savedAt: Date.now(), threshold, model } satisfies KeptFile, FILE_KEY));
  },
  writeModel: async (model) => {
    const kept = await readKeptFile();
    if (kept) await withStore('readwrite', (s) => s.put({ ...kept, model } satisfies KeptFile, FILE_KEY));
  },
  writeEdits: async (edits) => {
    await withStore('readwrite', (s) => s.put(edits, EDITS_KEY));
  },
  clear: async () => {
    await withStore('readwrite', (s) => s.delete(EDITS_KEY));
    await withStore('readwrite', (s) => s.delete(FILE_KEY));
  },
};

/** A store in memory: for environments without IndexedDB (the unit tests). */
export function memorySessionStore(): SessionStore {
  let kept: StoredSession | null = null;
  return {
    read: async () => kept,
    writeFile: async (file, threshold, model) => {
      kept = { file, savedAt: Date.now(), model, ...noEdits(threshold) };
    },
    writeModel: async (model) => {
      if (kept) kept = { ...kept, model };
    },
    writeEdits: async (edits) => {
      if (kept) kept = { ...kept, ...edits };
    },
    clear: async () => {
      kept = null;
    },
  };
}
