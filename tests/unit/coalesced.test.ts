import { expect, test } from 'vitest';
import { Coalesced } from '../../src/lib/coalesced';

test('one call at a time; of the requests made meanwhile only the latest runs, once, after it', async () => {
  const calls: number[] = [];
  let release: () => void = () => undefined;
  const c = new Coalesced<number>(async (v) => {
    calls.push(v);
    if (v === 1) await new Promise<void>((r) => (release = r));
  });
  const first = c.request(1);
  void c.request(2);
  void c.request(3);
  expect(calls).toEqual([1]);
  release();
  await first;
  expect(calls).toEqual([1, 3]);
  await c.request(4);
  expect(calls).toEqual([1, 3, 4]);
});

test('a failing call does not block the next request', async () => {
  const c = new Coalesced(async () => {
    throw new Error('engine stopped');
  });
  await expect(c.request()).rejects.toThrow('engine stopped');
  await expect(c.request()).rejects.toThrow('engine stopped');
});
