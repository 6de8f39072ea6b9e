// Who is asking: an anonymous learner id, issued on the first visit in a
// cookie (httpOnly, SameSite=Lax, Secure over HTTPS) and signed with a
// server key kept in the data dir, so it cannot be forged or guessed and
// survives a restart. There are no accounts: the cookie is the learner.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import type { NextFunction, Request, Response } from 'express';
import { parseCookies, setCookie } from './cookies.js';
import { tooMany } from './rate-limit.js';

export const LEARNER_COOKIE = 'boxlab_learner';
const MAX_AGE_S = 365 * 24 * 3600;

/** Reads the signing key from `<dataDir>/identity.key`, creating it (once, even with several servers starting) if missing. */
export async function loadIdentityKey(dataDir: string): Promise<Buffer> {
  const file = path.join(dataDir, 'identity.key');
  const existing = await fs.readFile(file).catch(() => undefined);
  if (existing && existing.length >= 32) return existing;
  await fs.mkdir(dataDir, { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await fs.writeFile(tmp, randomBytes(32), { mode: 0o600 });
  // link() fails if another process got there first: then theirs is the key
  await fs.link(tmp, file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  await fs.unlink(tmp);
  return fs.readFile(file);
}

export class Identity {
  constructor(private readonly key: Buffer) {}

  private sign(id: string): string {
    return createHmac('sha256', this.key).update(id).digest('base64url');
  }

  /** A new learner id and its cookie value. */
  issue(): { id: string; cookie: string } {
    const id = randomBytes(16).toString('base64url');
    return { id, cookie: `${id}.${this.sign(id)}` };
  }

  /** The cookie value for a known learner id (a resume link hands an identity to another device). */
  cookieFor(id: string): string {
    return `${id}.${this.sign(id)}`;
  }

  /** The learner id in a cookie value, if the signature holds. */
  verify(cookie: string | undefined): string | undefined {
    const m = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(cookie ?? '');
    if (!m) return undefined;
    const expected = Buffer.from(this.sign(m[1]!));
    const given = Buffer.from(m[2]!);
    return timingSafeEqual(expected, given) ? m[1] : undefined;
  }

  /** The learner a request (HTTP or WebSocket upgrade) comes from, if it carries a valid cookie. */
  fromRequest(req: IncomingMessage): string | undefined {
    return this.verify(parseCookies(req.headers.cookie).get(LEARNER_COOKIE));
  }

  setCookieHeader(value: string, req: IncomingMessage): string {
    return setCookie(req, LEARNER_COOKIE, value, { maxAgeS: MAX_AGE_S, sameSite: 'Lax' });
  }

  /**
   * Express middleware: every request gets a learner (`learnerOf(res)`), a new
   * visitor a new cookie, unless `mayIssue` says how long to wait (429).
   */
  middleware(mayIssue: (req: Request) => number = () => 0) {
    return (req: Request, res: Response, next: NextFunction) => {
      let learner = this.fromRequest(req);
      if (!learner) {
        const wait = mayIssue(req);
        if (wait > 0) return tooMany(res, wait, 'too many new visitors from your network');
        const issued = this.issue();
        learner = issued.id;
        res.append('Set-Cookie', this.setCookieHeader(issued.cookie, req));
      }
      res.locals.learner = learner;
      next();
    };
  }
}

/** The learner of a request that went through Identity.middleware(). */
export function learnerOf(res: Response): string {
  return res.locals.learner as string;
}
