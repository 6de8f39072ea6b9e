// What every response and request goes through: security headers with a
// strict Content-Security-Policy, a same-origin rule for anything that
// changes state (WebSocket upgrades included: cross-site WebSocket
// hijacking), and, on a loopback-only server, a Host check that keeps a
// web page on another site from reaching boxlab by DNS rebinding.
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';

// Scripts only from boxlab itself. Styles may be inline: xterm.js injects
// <style> elements for its renderer and scrollbars.
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function securityHeaders() {
  return (_req: Request, res: Response, next: NextFunction) => {
    res.set({
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Resource-Policy': 'same-origin',
    });
    next();
  };
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function hostname(host: string): string {
  // "[::1]:8080" -> "[::1]", "localhost:8080" -> "localhost"
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
}

export function isLoopback(listenHost: string): boolean {
  return LOOPBACK_NAMES.has(listenHost) || listenHost.startsWith('127.');
}

/** Is the Host header acceptable? A server listening on loopback only answers to loopback names. */
export function hostAllowed(req: IncomingMessage, listenHost: string): boolean {
  const host = req.headers.host;
  if (!host) return false;
  if (!isLoopback(listenHost)) return true;
  const name = hostname(host.toLowerCase());
  return LOOPBACK_NAMES.has(name) || name.startsWith('127.');
}

/** Does the request come from a page of this server? A missing Origin (not a browser) counts as no. */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (!origin || !req.headers.host) return false;
  try {
    return new URL(origin).host === req.headers.host.toLowerCase();
  } catch {
    return false;
  }
}

/** Refuses a foreign Host, and a state-changing request sent by another site's page. */
export function requestGuard(listenHost: string) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!hostAllowed(req, listenHost)) {
      res.status(403).json({ error: 'this boxlab server only answers to its own address' });
      return;
    }
    const safe = req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS';
    if (!safe && req.headers.origin !== undefined && !sameOrigin(req)) {
      res.status(403).json({ error: 'cross-origin requests are refused' });
      return;
    }
    next();
  };
}
