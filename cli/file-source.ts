/**
 * A file on disk as the engine reads it (csv.ts ByteSource): its size and byte ranges, read on demand through one
 * open file handle. Not `fs.openAsBlob`: in Node 20 its Blob takes the size modulo 4 GiB, so a 5 GB file would read
 * as its last 0.7 GB.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { ByteSource } from '../workers/engine/csv';

export class FileSource implements ByteSource {
  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<FileSource> {
    const handle = await open(path, 'r');
    try {
      return new FileSource(handle, (await handle.stat()).size);
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  slice(start: number, end: number): { arrayBuffer(): Promise<ArrayBuffer> } {
    const from = Math.max(0, Math.min(start, this.size));
    const to = Math.max(from, Math.min(end, this.size));
    return { arrayBuffer: () => this.read(from, to) };
  }

  private async read(from: number, to: number): Promise<ArrayBuffer> {
    const buf = new Uint8Array(to - from);
    let done = 0;
    while (done < buf.length) {
      const { bytesRead } = await this.handle.read(buf, done, buf.length - done, from + done);
      if (bytesRead === 0) throw new Error(`the file ended at byte ${from + done} of ${this.size}: it changed while it was read`);
      done += bytesRead;
    }
    return buf.buffer;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
