/** The tool's file reader addresses bytes past 4 GiB (Node 20's fs.openAsBlob takes the size modulo 4 GiB). */
import { openSync, closeSync, writeSync, ftruncateSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { FileSource } from '../../cli/file-source';
import { tempDir } from './cli-helpers';

test('a sparse 5 GiB file: its size and the bytes at 4.5 GiB', async () => {
  const dir = tempDir();
  const file = join(dir, 'sparse.csv');
  const fd = openSync(file, 'w');
  const size = 5 * 2 ** 30;
  ftruncateSync(fd, size); // sparse: no disk space used
  writeSync(fd, Buffer.from('far away\n'), 0, 9, 4.5 * 2 ** 30);
  closeSync(fd);
  const source = await FileSource.open(file);
  try {
    expect(source.size).toBe(size);
    const bytes = new Uint8Array(await source.slice(4.5 * 2 ** 30, 4.5 * 2 ** 30 + 9).arrayBuffer());
    expect(new TextDecoder().decode(bytes)).toBe('far away\n');
    expect(new Uint8Array(await source.slice(size - 4, size + 100).arrayBuffer())).toEqual(new Uint8Array(4));
  } finally {
    await source.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
