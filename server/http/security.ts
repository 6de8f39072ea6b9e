// What every response and request goes through: security headers with a
// strict Content-Security-Policy, the server's own names only (hosts.ts: a
// web page on another site reaching boxlab by DNS rebinding names itself),
// and a same-origin rule for anything that changes state (WebSocket upgrades
// alike, in edge.ts: cross-site WebSocket hijacking).
import type { NextFunction, Request, Response } from 'express';
import type { Edge } from './edge.js';

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

/** The pages that replay recordings (the dashboard, the learner's history): asciinema-player's
 *  terminal is WebAssembly, which needs compiling; still no script but boxlab's own, no eval. */
export const REPLAY_CSP = CONTENT_SECURITY_POLICY.replace("script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'");

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

/** Refuses a Host that is not this server's (421) and a state-changing request sent by another site's page (403). */
export function requestGuard(edge: Edge) {
  return (req: Request, res: Response, next: NextFunction) => {
    const refuse = (reason: string, status: number, error: string) => {
      edge.refused(reason, edge.addressOf(req));
      res.status(status).json({ error });
    };
    if (!edge.hosts.allows(req.headers.host)) return refuse('host', 421, 'this boxlab server only answers to its own address');
    const safe = req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS';
    if (!safe && req.headers.origin !== undefined && !edge.hosts.sameOrigin(req.headers.origin, req.headers.host)) return refuse('origin', 403, 'cross-origin requests are refused');
    next();
  };
}
