// Token buckets by key (a client address, a learner): a burst, then a steady
// rate. Buckets that refilled completely are forgotten, so memory stays
// bounded by the clients active in the last few seconds.
import type { NextFunction, Request, Response } from 'express';

export interface RateLimit {
  /** Requests allowed at once. */
  burst: number;
  /** Requests per second after the burst. */
  perSecond: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private lastSweep = 0;

  constructor(readonly limit: RateLimit, private readonly now: () => number = Date.now) {}

  /** Takes one token for `key`; returns 0 if allowed, else the milliseconds until one is free. */
  take(key: string): number {
    return this.spend(key, true);
  }

  /** Like take, without spending: would a request be allowed now? */
  peek(key: string): number {
    return this.spend(key, false);
  }

  private spend(key: string, consume: boolean): number {
    const now = this.now();
    this.sweep(now);
    const bucket = this.buckets.get(key) ?? { tokens: this.limit.burst, at: now };
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.limit.perSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      if (consume) bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) / this.limit.perSecond) * 1000);
  }

  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    const full = (this.limit.burst / this.limit.perSecond) * 1000;
    if (now - this.lastSweep < full) return;
    this.lastSweep = now;
    for (const [key, b] of this.buckets) if (now - b.at >= full) this.buckets.delete(key);
  }
}

/** Express middleware: 429 with Retry-After once `key(req, res)` has spent its bucket. */
export function rateLimited(limiter: RateLimiter, key: (req: Request, res: Response) => string, what: string) {
  return (req: Request, res: Response, next: NextFunction) => {
    const wait = limiter.take(key(req, res));
    if (wait === 0) return next();
    tooMany(res, wait, `too many ${what}`);
  };
}

/** 429, with when to try again (Retry-After, and in the message). */
export function tooMany(res: Response, waitMs: number, what: string): void {
  const s = Math.ceil(waitMs / 1000);
  res.set('Retry-After', String(s)).status(429).json({ error: `${what}; try again in ${s} s` });
}

/** The client's address (the socket's: a proxy in front must not let clients choose their own bucket). */
export function clientAddress(req: Request): string {
  return req.socket.remoteAddress ?? 'unknown';
}
