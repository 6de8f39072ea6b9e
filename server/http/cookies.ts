// Cookies as boxlab sets them: on the whole site, httpOnly, Secure whenever
// the page came over HTTPS.
import type { IncomingMessage } from 'node:http';

export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) cookies.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return cookies;
}

function isHttps(req: IncomingMessage): boolean {
  if ((req.socket as { encrypted?: boolean }).encrypted) return true;
  // behind a TLS-terminating proxy; a client lying here only makes its own cookie Secure
  const forwarded = req.headers['x-forwarded-proto'];
  return (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim() === 'https';
}

/** A Set-Cookie value; a max age of 0 clears the cookie. */
export function setCookie(req: IncomingMessage, name: string, value: string, options: { maxAgeS: number; sameSite: 'Lax' | 'Strict' }): string {
  return `${name}=${value}; Path=/; Max-Age=${options.maxAgeS}; HttpOnly; SameSite=${options.sameSite}${isHttps(req) ? '; Secure' : ''}`;
}
