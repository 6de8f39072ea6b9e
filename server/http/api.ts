// The JSON API behind the page: a learner's sandboxes and their terminals.
// Every route acts for the learner of the request and only on what that
// learner may access (ownership.ts); anything else is "not found".
import express, { type NextFunction, type Request, type Response } from 'express';
import type { SandboxJson, TerminalJson } from '../contracts/lessons.js';
import type { Logger } from '../log.js';
import type { Edge } from './edge.js';
import { SandboxError } from '../sandbox/driver.js';
import type { SandboxManager } from '../sandbox/manager.js';
import type { TerminalRegistry } from '../terminal/registry.js';
import { TerminalError, type TerminalSession } from '../terminal/session.js';
import { learnerOf } from './identity.js';
import type { Ownership } from './ownership.js';

export interface ApiDeps {
  sandboxes: SandboxManager;
  terminals: TerminalRegistry;
  ownership: Ownership;
  log?: Logger;
  /** Sandboxes one learner may hold at once. */
  maxSandboxesPerLearner?: number;
  /** Fair shares per client address. */
  edge?: Edge;
}

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export function terminalJson(t: TerminalSession): TerminalJson {
  return { ...t.info(), socket: `/ws/terminals/${t.id}` };
}

/** A sandbox as the pages see it, with its live terminals; undefined once it has ended. */
export function sandboxJson(sandboxes: SandboxManager, terminals: TerminalRegistry, id: string): SandboxJson | undefined {
  const info = sandboxes.list().find((s) => s.id === id);
  return info && { id, hostname: info.hostname, createdAt: info.createdAt, terminals: terminals.list(id).map(terminalJson) };
}

export function apiRouter(deps: ApiDeps): express.Router {
  const { sandboxes, terminals, ownership } = deps;
  const perLearner = deps.maxSandboxesPerLearner ?? 3;
  const router = express.Router();
  router.use(express.json({ limit: '4kb' }));

  const sandboxOf = (id: string) => sandboxJson(sandboxes, terminals, id);

  /** The sandbox `id`, if the caller owns it. */
  const ownSandbox = (req: Request, res: Response): string => {
    const id = String(req.params.id);
    if (ownership.access(learnerOf(res), id) !== 'owner' || !sandboxes.has(id)) throw new HttpError(404, `no sandbox ${id}`);
    return id;
  };

  /** The terminal `id`, if the caller may see it (and whether they own it). */
  const visibleTerminal = (req: Request, res: Response, need: 'owner' | 'viewer'): TerminalSession => {
    const id = String(req.params.id);
    const session = terminals.get(id);
    const access = session ? ownership.access(learnerOf(res), session.sandboxId) : 'none';
    if (!session || session.isEnded || access === 'none' || (need === 'owner' && access !== 'owner')) throw new HttpError(404, `no terminal ${id}`);
    return session;
  };

  router.get('/sandboxes', (_req, res) => {
    res.json({ sandboxes: ownership.sandboxesOf(learnerOf(res)).map(sandboxOf).filter(Boolean) });
  });

  router.post('/sandboxes', async (_req, res) => {
    const learner = learnerOf(res);
    const mine = ownership.sandboxesOf(learner).filter((id) => sandboxes.has(id));
    if (mine.length >= perLearner) throw new HttpError(409, `you already have ${mine.length} sandboxes; delete one to start another`);
    const refused = deps.edge?.admission.refusal(learner);
    if (refused) throw new HttpError(429, refused);
    const info = await sandboxes.create();
    ownership.claim(info.id, learner);
    deps.log?.info({ sandbox: info.id, learner }, 'sandbox created');
    res.status(201).json(sandboxOf(info.id));
  });

  router.delete('/sandboxes/:id', async (req, res) => {
    const id = ownSandbox(req, res);
    await sandboxes.destroy(id); // its terminals, run and owner let go on the manager's onEnded
    res.status(204).end();
  });

  router.post('/sandboxes/:id/terminals', (req, res) => {
    const id = ownSandbox(req, res);
    const body: unknown = req.body ?? {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the body is a JSON object: {"cols": 80, "rows": 24}');
    const { cols = 80, rows = 24 } = body as { cols?: unknown; rows?: unknown };
    const session = terminals.create(id, { cols: cols as number, rows: rows as number });
    res.status(201).json(terminalJson(session));
  });

  router.get('/terminals/:id', (req, res) => {
    res.json(terminalJson(visibleTerminal(req, res, 'viewer')));
  });

  router.delete('/terminals/:id', async (req, res) => {
    const session = visibleTerminal(req, res, 'owner');
    await terminals.end(session.id);
    res.status(204).end();
  });

  router.use((req, _res, next) => next(new HttpError(404, `no such API: ${req.method} ${req.baseUrl}${req.path}`)));
  router.use(apiErrors(deps.log));
  return router;
}

/** Every failure as JSON {error}, with the status that says whose fault it is. */
export function apiErrors(log?: Logger) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const [status, message] = describe(err);
    if (status >= 500 && status !== 503) log?.error({ err }, 'API request failed');
    res.status(status).json({ error: message });
  };
}

function describe(err: unknown): [number, string] {
  if (err instanceof HttpError) return [err.status, err.message];
  if (err instanceof TerminalError) return [err.code === 'bad-size' ? 400 : err.code === 'too-many-terminals' ? 409 : 410, err.message];
  if (err instanceof SandboxError) {
    if (err.code === 'limit') return [503, err.message];
    if (err.code === 'not-found' || err.code === 'gone') return [404, err.message];
    return [500, err.message];
  }
  // body-parser's errors carry a status and an expose flag
  const e = err as { status?: number; expose?: boolean; type?: string; message?: string };
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    if (e.type === 'entity.too.large') return [413, 'the request body is too large'];
    if (e.type === 'entity.parse.failed') return [400, 'the request body is not valid JSON'];
    return [e.status, e.expose && e.message ? e.message : 'bad request'];
  }
  return [500, 'the server failed; see its log'];
}
