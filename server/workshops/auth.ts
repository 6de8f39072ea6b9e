// Instructor sign-in and learners' resume links, as signed tokens. The
// instructor proves they know the server's secret once and get a session
// token (signed, expiring; it names the secret's hash, so a new secret ends
// every session), which server/http/instructor.ts keeps in a cookie. A resume
// token carries a learner id signed for one workshop.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_MS = 12 * 3600_000;

/** A secret good enough to print for the instructor at start-up. */
export function generateSecret(): string {
  return randomBytes(18).toString('base64url');
}

function equal(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}

export class InstructorAuth {
  private readonly secretHash: Buffer;

  constructor(secret: string, private readonly key: Buffer, private readonly now: () => number = Date.now) {
    this.secretHash = createHash('sha256').update(secret).digest();
  }

  private mac(purpose: string, text: string): string {
    return createHmac('sha256', this.key).update(purpose).update('\0').update(this.secretHash).update('\0').update(text).digest('base64url');
  }

  /** Compares in constant time (hashing first, so the length leaks nothing either). */
  secretMatches(given: unknown): boolean {
    if (typeof given !== 'string' || given.length > 1024) return false;
    return timingSafeEqual(createHash('sha256').update(given).digest(), this.secretHash);
  }

  /** A session token, valid for 12 hours. */
  issueSession(): string {
    const expires = String(this.now() + SESSION_MS);
    return `${expires}.${this.mac('instructor-session', expires)}`;
  }

  validSession(value: string | undefined): boolean {
    const m = /^(\d{13})\.([A-Za-z0-9_-]{43})$/.exec(value ?? '');
    return !!m && Number(m[1]) > this.now() && equal(m[2]!, this.mac('instructor-session', m[1]!));
  }

  /** The token of a learner's resume link for one workshop. */
  resumeToken(workshopId: string, learnerId: string): string {
    return `${learnerId}.${this.resumeMac(workshopId, learnerId)}`;
  }

  /** The learner a resume token names, if it was issued for this workshop. */
  resumeLearner(workshopId: string, token: string): string | undefined {
    const m = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(token);
    return m && equal(m[2]!, this.resumeMac(workshopId, m[1]!)) ? m[1] : undefined;
  }

  // independent of the instructor secret: a restart with a new secret keeps learners' links working
  private resumeMac(workshopId: string, learnerId: string): string {
    return createHmac('sha256', this.key).update('workshop-resume\0').update(workshopId).update('\0').update(learnerId).digest('base64url');
  }
}
