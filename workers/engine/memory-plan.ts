/**
 * How many rows a load may hold, checked against what Chromium really grants. Measured in a dedicated worker of
 * Chromium (Playwright, 64-bit Linux, 24 GB machine):
 * - the largest single ArrayBuffer / Float32Array allocation is 17,163,091,968 bytes (just under 16 GiB); beyond
 *   it `new Float32Array(n)` throws "RangeError: Array buffer allocation failed";
 * - an allocated but untouched buffer costs no memory (8 GiB allocated, 256 MB written: the machine's used memory
 *   grew by ≈ 0.3 GB), so reserving the budget up front is free;
 * - 7 GiB of buffers written in full stayed alive (the renderer was not killed); the tab in the issue died past
 *   10 GB. The peak a load may reach, old and new buffers together while growing, is kept below 7 GiB.
 */
import { formatBytes, formatCount } from '../format';
import { BIGGER_FILES_HINT, EngineFailure } from './errors';

/** Most the readings matrix (rows × features × 4 bytes) may take. */
export const MAX_READINGS_BYTES = 4 * 1024 ** 3;

/** Most the row buffers may hold written at once (while growing, the old copy and the new one). */
export const MAX_RESIDENT_BYTES = 7 * 1024 ** 3;

/** Bytes one row takes in the row buffers: the readings plus label, flags, offsets, line and probability. */
export function bytesPerRow(nFeatures: number): number {
  return nFeatures * 4 + 1 + 1 + 8 + 8 + 4 + 4;
}

/** Rows the readings budget holds. */
export function maxRows(nFeatures: number): number {
  return Math.floor(MAX_READINGS_BYTES / (nFeatures * 4));
}

/** What the first slice says about the records of a file. */
export interface FirstRecords {
  /** Bytes from the header record's start to the end of the file. */
  bytesLeft: number;
  /** Mean and longest bytes per record in the first slice (header included). */
  meanRecordBytes: number;
  longestRecordBytes: number;
}

export interface RowPlan {
  /** Fewest rows the file can plausibly have: every record up to twice as long as the longest one seen. */
  fewestRows: number;
  /** Rows to allocate first (untouched rows cost nothing): the mean-based estimate, at most the budget. */
  initialRows: number;
}

/**
 * Plan the row buffers from the first slice. Refuses (too-large) only when even the fewest plausible rows exceed
 * the budget: the mean of the first records is no bound (names such as wafer-1 … wafer-1500000 grow), so a file
 * between the two bounds is loaded and the buffers grow up to the budget.
 */
export function planRows(fileBytes: number, first: FirstRecords, nFeatures: number): RowPlan {
  const fewestRows = Math.floor(first.bytesLeft / (2 * Math.max(1, first.longestRecordBytes)));
  if (fewestRows > maxRows(nFeatures)) tooLarge(fileBytes, `at least ${formatCount(fewestRows)} rows`, fewestRows, nFeatures, null);
  const estimate = Math.ceil((first.bytesLeft / Math.max(1, first.meanRecordBytes)) * 1.1) + 16;
  return { fewestRows, initialRows: Math.max(16, Math.min(estimate, maxRows(nFeatures))) };
}

/** The too-large failure: what the file needs, why it cannot have it, and what to use instead. */
export function tooLarge(fileBytes: number, rowsText: string, rows: number, nFeatures: number, e: unknown): never {
  const need = rows * nFeatures * 4;
  const why = e === null ? `more than the ${formatBytes(MAX_READINGS_BYTES)} this page allows` : `and the browser could not allocate that (${e instanceof Error ? e.message : String(e)})`;
  throw new EngineFailure(
    'too-large',
    `This file is too large for this browser's memory: ${formatBytes(fileBytes)}, ${rowsText}, needs ${rowsText.startsWith('at least') ? 'at least' : 'about'} ${formatBytes(need)} for its readings, ${why}. ${BIGGER_FILES_HINT}`,
  );
}
