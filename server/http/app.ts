// The HTTP routes: wires the subsystems to the web.
import { existsSync } from 'node:fs';
import path from 'node:path';
import express from 'express';
import type { Logger } from '../log.js';
import { DIST_DIR } from '../paths.js';
import type { SandboxManager } from '../sandbox/manager.js';
import type { TerminalRegistry } from '../terminal/registry.js';
import type { LessonPlayer } from '../player/player.js';
import { apiRouter } from './api.js';
import type { Edge } from './edge.js';
import { learnerOf, type Identity } from './identity.js';
import { lessonRoutes } from './lessons.js';
import { workshopRouter } from './workshops.js';
import { recordingRouter } from './recordings.js';
import type { Recordings } from '../recording/index.js';
import type { Workshops } from '../workshops/index.js';
import type { InstructorGate } from './instructor.js';
import type { Ownership } from './ownership.js';
import { requestGuard, securityHeaders } from './security.js';

export interface AppDeps {
  sandboxes: SandboxManager;
  terminals: TerminalRegistry;
  identity: Identity;
  ownership: Ownership;
  /** The lessons; without it the server offers sandboxes and terminals only. */
  player?: LessonPlayer;
  /** Instructor-led workshops (with the lessons), and the instructor's sign-in. */
  workshops?: { workshops: Workshops; instructor: InstructorGate };
  /** Names, connections and fair shares (edge.ts). */
  edge: Edge;
  /** /metrics, for the instructor. */
  metrics?: { route: express.RequestHandler };
  /** The URL learners reach the server by, for join and resume links. */
  publicUrl?: string;
  log?: Logger;
  /** Terminal recordings and the timeline; without it nothing is replayable. */
  recordings?: Recordings;
  /** The built browser assets; default dist/web. */
  webDir?: string;
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', 'strong');
  app.use(securityHeaders());
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, sandboxes: deps.sandboxes.count });
  });
  app.use(requestGuard(deps.edge));
  if (deps.metrics) app.get('/metrics', deps.metrics.route);
  const { edge } = deps;
  // a client that drops its cookie is a new learner: new learners are rate limited per address
  app.use(deps.identity.middleware((req) => {
    const wait = edge.admission.newLearner(edge.addressOf(req));
    if (wait > 0) edge.refused('new-learners-per-address', edge.addressOf(req));
    return wait;
  }));
  app.use((req, res, next) => {
    edge.admission.seen(learnerOf(res), edge.addressOf(req));
    next();
  });
  const webDir = deps.webDir ?? path.join(DIST_DIR, 'web');
  if (deps.recordings) {
    app.use(recordingRouter({ recordings: deps.recordings, ownership: deps.ownership, webDir, ...(deps.workshops ? { workshops: deps.workshops } : {}), ...(deps.log ? { log: deps.log } : {}) }));
  }
  if (deps.workshops && deps.player) {
    app.use(workshopRouter({ ...deps.workshops, player: deps.player, identity: deps.identity, terminals: deps.terminals, ownership: deps.ownership, webDir, ...(deps.publicUrl ? { publicUrl: deps.publicUrl } : {}), ...(deps.log ? { log: deps.log } : {}) }));
  }
  if (deps.player) {
    app.use(lessonRoutes({ player: deps.player, sandboxes: deps.sandboxes, terminals: deps.terminals, admission: edge.admission, lessonPage: path.join(webDir, 'lesson.html'), ...(deps.log ? { log: deps.log } : {}) }));
  }
  app.use('/api', apiRouter(deps));

  // revalidated on every load (ETag): the asset names carry no hash
  app.use(precompressed(webDir));
  app.use(express.static(webDir, { index: 'index.html', dotfiles: 'ignore', cacheControl: true, maxAge: 0, setHeaders: (res) => res.set('Cache-Control', 'no-cache') }));
  app.get('/', (_req, res) => {
    res.status(existsSync(webDir) ? 404 : 503).type('text/plain').send(`the web page is not built: run "npm run build" (missing ${webDir})`);
  });
  app.use((req, res) => {
    res.status(404).type('text/plain').send(`not found: ${req.path}`);
  });
  return app;
}

const SCRIPT_OR_STYLE = /\.(js|css)$/;

/** Scripts and styles from their .gz twin (web/build.mjs writes them) to a browser that takes gzip. */
function precompressed(webDir: string) {
  const gzipped = express.static(webDir, {
    index: false,
    dotfiles: 'ignore',
    fallthrough: true,
    setHeaders: (res, file) => {
      res.set({ 'Content-Encoding': 'gzip', 'Cache-Control': 'no-cache' });
      res.type(path.extname(file.slice(0, -'.gz'.length)));
    },
  });
  return (req: express.Request, res: express.Response, next: express.NextFunction) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !SCRIPT_OR_STYLE.test(req.path)) return next();
    res.vary('Accept-Encoding');
    if (!req.acceptsEncodings('gzip')) return next();
    const url = req.url;
    req.url = `${req.path}.gz`;
    gzipped(req, res, () => {
      req.url = url;
      next();
    });
  };
}
