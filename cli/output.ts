/**
 * Where the predictions go: a file (written under a temporary name in the same folder and renamed when the input
 * was read to its end, so a refused input leaves no partial output behind), or standard output (streamed; a
 * refusal part-way leaves the rows written so far, and the exit code says so). Writes wait for the stream to
 * drain: the output never piles up in memory when the disk or the reader is slower than the scoring.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { trackTemp, untrackTemp } from './temp-files';

/** An output that could not be written (disk full, closed pipe …): exit code 3. */
export class OutputError extends Error {
  override readonly name = 'OutputError';
}

function outputFailed(what: string, e: unknown): OutputError {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const why = code === 'EPIPE' ? 'the reading end of the pipe was closed' : e instanceof Error ? e.message : String(e);
  return new OutputError(`Could not write ${what}: ${why}.`);
}

/** Write to a stream, waiting for it to drain when its buffer is full. */
export async function writeTo(stream: Writable, bytes: Uint8Array, what: string): Promise<void> {
  if (bytes.length === 0) return;
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const done = (e?: unknown) => {
      if (settled) return;
      settled = true;
      stream.off('error', done);
      if (e) reject(outputFailed(what, e));
      else resolve();
    };
    stream.once('error', done);
    // The write callback runs once the bytes are handed to the OS: at most one slice is ever queued.
    stream.write(bytes, (e) => done(e ?? undefined));
  });
}

/** A file written under a temporary name next to it; `commit` renames it into place, `discard` removes it. */
export class PendingFile {
  readonly temp: string;
  private stream: WriteStream;
  private closed = false;

  constructor(readonly path: string) {
    this.temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
    trackTemp(this.temp);
    this.stream = createWriteStream(this.temp);
  }

  /** Start the file over, empty (an input is scored again with another header). */
  async rewind(): Promise<void> {
    await this.close();
    this.stream = createWriteStream(this.temp);
    this.closed = false;
  }

  write(bytes: Uint8Array): Promise<void> {
    return writeTo(this.stream, bytes, this.path);
  }

  /** The open file, for copying other files onto its end (appendFile). */
  get writable(): Writable {
    return this.stream;
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve, reject) => this.stream.end((e?: Error | null) => (e ? reject(outputFailed(this.path, e)) : resolve())));
  }

  /** Finish writing; the bytes stay under the temporary name (for appending to a combined output). */
  async finish(): Promise<void> {
    await this.close();
  }

  async commit(): Promise<void> {
    await this.close();
    try {
      await rename(this.temp, this.path);
      untrackTemp(this.temp);
    } catch (e) {
      throw outputFailed(this.path, e);
    }
  }

  async discard(): Promise<void> {
    this.stream.destroy();
    this.closed = true;
    await rm(this.temp, { force: true });
    untrackTemp(this.temp);
  }
}

/** Copy a finished file onto the end of a stream (a combined output), leaving the stream open. */
export async function appendFile(from: string, to: Writable, what: string): Promise<void> {
  try {
    await pipeline(createReadStream(from), to, { end: false });
  } catch (e) {
    throw outputFailed(what, e);
  }
}
