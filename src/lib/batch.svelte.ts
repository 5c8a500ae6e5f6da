/**
 * The UI state of a batch of files (issue 14), kept apart from AppState, which holds the batch's data as it holds
 * one file's (summary, results, edits: the engine serves a batch as one session). This holds what only a batch
 * has: the files given, what became of each, their counts at the threshold, and the grid's file filter.
 */
import type { BatchFileResults, BatchInput, BatchReport } from '../../workers/api';

/** Files from a folder pick or a drop, in a stable order: by their path in the folder. */
export function batchInputs(files: File[], paths?: string[]): BatchInput[] {
  const names = withoutCommonFolder(files.map((file, k) => (paths?.[k] ?? file.webkitRelativePath) || file.name));
  const inputs = files.map((file, k) => ({ file, name: names[k] as string }));
  return inputs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The picked folder's own name is the same for every file and says nothing about it: "day/a.csv" → "a.csv". */
export function withoutCommonFolder(paths: string[]): string[] {
  const top = paths[0]?.split('/')[0];
  if (top === undefined || !paths.every((p) => p.includes('/') && p.split('/')[0] === top)) return paths;
  return paths.map((p) => p.slice(top.length + 1));
}

export class BatchState {
  /** The files of the batch on screen (for a reload with other choices, or after an engine restart). */
  inputs = $state.raw<BatchInput[]>([]);
  report = $state.raw<BatchReport | null>(null);
  /** Each loaded file's counts at the threshold (refreshed after every data call). */
  perFile = $state.raw<BatchFileResults[]>([]);
  /** The grid shows only this file's rows (its index in report.files), or every file's (null). */
  filter = $state<number | null>(null);

  get active(): boolean {
    return this.report !== null;
  }

  /** Rows the grid shows: the filtered file's, else all. */
  visibleRows(total: number): number {
    if (this.filter === null || !this.report) return total;
    return this.report.files[this.filter]?.rows ?? total;
  }

  take(inputs: BatchInput[], report: BatchReport): void {
    this.inputs = inputs;
    this.report = report;
    this.perFile = [];
    this.filter = null;
  }

  clear(): void {
    this.inputs = [];
    this.report = null;
    this.perFile = [];
    this.filter = null;
  }
}
