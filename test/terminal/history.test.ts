// The resume history: recent output by absolute offset.
import { expect, it } from 'vitest';
import { OutputHistory } from '../../server/terminal/history.js';

const chunk = (from: number, length: number) => Uint8Array.from({ length }, (_, i) => (from + i) % 256);

it('returns exactly the bytes after an offset, across chunks', () => {
  const h = new OutputHistory(1000);
  h.append(chunk(0, 10));
  h.append(chunk(10, 10));
  h.append(chunk(20, 5));
  expect(h.end).toBe(25);
  expect(h.since(25)).toEqual(new Uint8Array(0));
  expect(h.since(7)).toEqual(chunk(7, 18));
  expect(h.since(0)).toEqual(chunk(0, 25));
  expect(h.since(26)).toBeUndefined();
});

it('forgets the oldest chunks beyond its capacity and says so', () => {
  const h = new OutputHistory(100);
  for (let i = 0; i < 50; i++) h.append(chunk(i * 30, 30));
  expect(h.end).toBe(1500);
  expect(h.since(1400)).toEqual(chunk(1400, 100));
  expect(h.since(1300)).toBeUndefined();
  // never fewer than `capacity` bytes kept
  expect(h.since(1500 - 100)).toBeDefined();
});
