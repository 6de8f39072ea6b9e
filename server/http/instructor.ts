// The instructor over HTTP: their session in a cookie (SameSite=Strict, so no
// other site's page can act with it), or their secret as a bearer token for
// machines (/metrics). The tokens themselves are server/workshops/auth.ts's.
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { SESSION_MS, type InstructorAuth } from '../workshops/auth.js';
import { parseCookies, setCookie } from './cookies.js';

export const INSTRUCTOR_COOKIE = 'boxlab_instructor';

export class InstructorGate {
  constructor(readonly auth: InstructorAuth) {}

  /** Does the request (HTTP or WebSocket upgrade) come from a signed-in instructor? */
  isInstructor(req: IncomingMessage): boolean {
    return this.auth.validSession(parseCookies(req.headers.cookie).get(INSTRUCTOR_COOKIE));
  }

  /** The instructor, by session or by their secret as a bearer token. */
  authorizes(req: IncomingMessage): boolean {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    return this.isInstructor(req) || (bearer !== undefined && this.auth.secretMatches(bearer));
  }

  /** Express middleware: 401 unless signed in as the instructor. */
  required() {
    return (req: Request, res: Response, next: NextFunction) => {
      if (this.isInstructor(req)) return next();
      res.status(401).json({ error: 'instructors only: sign in at /instructor' });
    };
  }

  signIn(req: IncomingMessage): string {
    return setCookie(req, INSTRUCTOR_COOKIE, this.auth.issueSession(), { maxAgeS: SESSION_MS / 1000, sameSite: 'Strict' });
  }

  signOut(req: IncomingMessage): string {
    return setCookie(req, INSTRUCTOR_COOKIE, '', { maxAgeS: 0, sameSite: 'Strict' });
  }
}
