/**
 * The inputs: files, the CSV files of a folder, and standard input, each made a FileSource the engine reads in
 * slices (nothing is read into memory up front). The stream reads its input twice (stream-predict.ts), so
 * standard input is first copied to a temporary file, and a .gz file is decompressed into one (as the page
 * decompresses it before reading). Temporary files are removed when the input is done.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { gunzipFailed, isGzip } from '../workers/engine/compressed';
import { FileSource } from './file-source';
import { trackTemp, untrackTemp } from './temp-files';

/** How standard input is named on the command line and in messages. */
export const STDIN = '-';

/** File names a folder's inputs are taken by (the page accepts the same). */
const INPUT_NAME = /\.(csv|txt|tsv)(\.gz)?$/i;

/** One input as the user named it. */
export interface InputRef {
  /** The path given (or found in a folder), or STDIN. */
  path: string;
  /** Its name in messages, outputs and the source_file column: the file's name, "stdin" for standard input. */
  name: string;
}

/** A usage problem with the inputs (a folder without CSV files, a path that does not exist). */
export class InputListError extends Error {
  override readonly name = 'InputListError';
}

/** The inputs named on the command line: files as given, folders by their CSV files (sorted by name). */
export async function listInputs(args: string[]): Promise<InputRef[]> {
  const refs: InputRef[] = [];
  for (const arg of args) {
    if (arg === STDIN) {
      refs.push({ path: STDIN, name: 'stdin' });
      continue;
    }
    let st;
    try {
      st = await stat(arg);
    } catch {
      throw new InputListError(`${arg}: no such file or folder.`);
    }
    if (!st.isDirectory()) {
      refs.push({ path: arg, name: basename(arg) });
      continue;
    }
    const names = (await readdir(arg, { withFileTypes: true }))
      .filter((e) => e.isFile() && INPUT_NAME.test(e.name))
      .map((e) => e.name)
      .sort();
    if (names.length === 0) throw new InputListError(`${arg}: the folder holds no .csv, .txt or .tsv file (nor any .gz of one).`);
    for (const n of names) refs.push({ path: join(arg, n), name: n });
  }
  return refs;
}

/** An input ready to read; `close` removes its temporary files. */
export interface OpenInput {
  source: FileSource;
  /** Bytes of the gzip file given, when the text was decompressed from one. */
  compressedBytes: number | null;
  close(): Promise<void>;
}

async function firstBytes(path: string, n: number): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Open one input: stdin is copied to a temporary file, a gzip file decompressed into one. */
export async function openInput(ref: InputRef): Promise<OpenInput> {
  let temp: string | null = null;
  let source: FileSource | null = null;
  const cleanup = async () => {
    await source?.close();
    if (temp === null) return;
    await rm(temp, { recursive: true, force: true });
    untrackTemp(temp);
  };
  const makeTemp = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sensor-fault-'));
    trackTemp(dir);
    return dir;
  };
  try {
    let path = ref.path;
    if (path === STDIN) {
      temp = await makeTemp();
      path = join(temp, 'stdin.csv');
      await pipeline(process.stdin, createWriteStream(path));
    }
    let compressedBytes: number | null = null;
    if (isGzip(await firstBytes(path, 2))) {
      compressedBytes = (await stat(path)).size;
      temp ??= await makeTemp();
      const plain = join(temp, 'decompressed.csv');
      try {
        // The page's decompression (DecompressionStream), so a damaged file gets the same message under Node.
        const text = (Readable.toWeb(createReadStream(path)) as unknown as ReadableStream<BufferSource>).pipeThrough(new DecompressionStream('gzip'));
        await pipeline(Readable.fromWeb(text as NodeReadableStream<Uint8Array>), createWriteStream(plain));
      } catch (e) {
        gunzipFailed(e);
      }
      path = plain;
    }
    source = await FileSource.open(path);
    return { source, compressedBytes, close: cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
