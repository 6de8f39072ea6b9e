// The token buckets behind every rate limit of the HTTP routes.
import { expect, it } from 'vitest';
import { RateLimiter } from '../../server/http/rate-limit.js';

it('lets a burst through, then one request per interval, per key', () => {
  let now = 0;
  const limiter = new RateLimiter({ burst: 3, perSecond: 1 }, () => now);
  expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0]);
  expect(limiter.take('a')).toBe(1000);
  expect(limiter.peek('b')).toBe(0);
  expect(limiter.take('b')).toBe(0);
  now += 1000;
  expect(limiter.take('a')).toBe(0);
  expect(limiter.take('a')).toBeGreaterThan(0);
  now += 60_000;
  limiter.take('c');
  expect(limiter.size).toBe(1); // full buckets were forgotten
});
