// The HTTP routes: wires the subsystems to the web.
import express from 'express';
import type { SandboxManager } from '../sandbox/manager.js';

export interface AppDeps {
  sandboxes: SandboxManager;
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, sandboxes: deps.sandboxes.count });
  });
  return app;
}
