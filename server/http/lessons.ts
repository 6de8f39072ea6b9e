// The lesson routes: the catalogue, a lesson (rendered, sanitised, without
// check scripts, unrevealed hints or solutions), starting and resetting it,
// checks on demand, hints one at a time, the solution after a confirmation,
// the lesson's assets (no path traversal) and the lesson page itself. Every
// route acts for the learner of the request, on lessons that learner may see.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { EXERCISE_ID, LESSON_ID, type CatalogueEntry, type CheckJson, type ExerciseJson, type LessonJson, type Started } from '../contracts/lessons.js';
import type { Lesson } from '../labs/model.js';
import { renderLesson, renderSolution, type LessonView } from '../labs/render.js';
import { describeRequirements } from '../labs/requirements.js';
import type { Logger } from '../log.js';
import { LessonPlayer, PlayerError, type StartOutcome } from '../player/player.js';
import type { SandboxManager } from '../sandbox/manager.js';
import type { TerminalRegistry } from '../terminal/registry.js';
import { apiErrors, HttpError, sandboxJson as sandboxView } from './api.js';
import type { Admission } from './admission.js';
import { learnerOf } from './identity.js';
import { rateLimited, RateLimiter, type RateLimit } from './rate-limit.js';

export interface LessonRoutesDeps {
  player: LessonPlayer;
  sandboxes: SandboxManager;
  terminals: TerminalRegistry;
  /** The built lesson page. */
  lessonPage: string;
  /** Fair shares per client address (a network's share of sandboxes). */
  admission?: Admission;
  /** Check requests per learner: a check runs a script in their sandbox, a few a second at most however fast the clicks (or a script). */
  checks?: RateLimit;
  log?: Logger;
}

/** Assets are shown, never run: an SVG with a script in it stays inert. */
const ASSET_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox";
const ASSET_TYPES: Record<string, string> = { '.svg': 'image/svg+xml', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.webp': 'image/webp' };

export const assetsUrl = (lessonId: string) => `/lessons/${lessonId}/assets/`;

export function lessonRoutes(deps: LessonRoutesDeps): express.Router {
  const { player } = deps;
  const router = express.Router();
  const views = new Map<Lesson, LessonView>();
  const viewOf = (lesson: Lesson): LessonView =>
    views.get(lesson) ?? views.set(lesson, renderLesson(lesson, { assetsUrl: assetsUrl(lesson.id), lessonUrl: (id, anchor) => `/lessons/${id}${anchor ? `#${anchor}` : ''}` })).get(lesson)!;

  const lessonOf = (req: Request, res: Response): Lesson => {
    const id = String(req.params.id);
    if (!LESSON_ID.test(id)) throw new HttpError(404, `no lesson ${id.slice(0, 100)}`);
    return player.lesson(learnerOf(res), id);
  };
  const exerciseIdOf = (req: Request): string => {
    const id = String(req.params.exercise);
    if (!EXERCISE_ID.test(id)) throw new HttpError(404, `no exercise ${id.slice(0, 100)}`);
    return id;
  };
  /** A body of {"confirm": true}: what the page sends after the learner said yes. */
  const confirmed = (req: Request, what: string): void => {
    const body = req.body as unknown;
    if (typeof body !== 'object' || body === null || (body as { confirm?: unknown }).confirm !== true) {
      throw new HttpError(400, `${what} needs a confirmation: send {"confirm": true}`);
    }
  };

  const sandboxJson = (id: string) => sandboxView(deps.sandboxes, deps.terminals, id) ?? null;

  const api = express.Router();
  api.use(express.json({ limit: '4kb' }));
  const checks = rateLimited(new RateLimiter(deps.checks ?? { burst: 10, perSecond: 1 }), (_req, res) => learnerOf(res), 'check requests');

  api.get('/', async (_req, res) => {
    const learner = learnerOf(res);
    const lessons = player.lessonsFor(learner);
    const states = await Promise.all(lessons.map((l) => player.exerciseStates(learner, l)));
    res.json({
      lessons: await Promise.all(
        lessons.map(async (l, i) => {
          const unavailable = await player.unavailable(l);
          return {
            id: l.id,
            title: l.title,
            summary: l.summary,
            time: l.time,
            minutes: l.minutes,
            order: l.order,
            exercises: l.exercises.length,
            done: states[i]!.filter((s) => s.status === 'done').length,
            needs: describeRequirements(l.requires),
            ...(unavailable ? { unavailable } : {}),
          } satisfies CatalogueEntry;
        }),
      ),
    });
  });

  api.get('/:id', async (req, res) => {
    const lesson = lessonOf(req, res);
    const learner = learnerOf(res);
    player.opened(learner, lesson.id);
    const view = viewOf(lesson);
    const states = new Map((await player.exerciseStates(learner, lesson)).map((s) => [s.id, s]));
    const list = player.lessonsFor(learner);
    const index = list.indexOf(lesson);
    const neighbour = (l: Lesson | undefined) => l && { id: l.id, title: l.title };
    const run = player.runState(learner, lesson.id);
    const unavailable = await player.unavailable(lesson);
    res.json({
      id: view.id,
      title: view.title,
      summary: view.summary,
      time: view.time,
      introHtml: view.introHtml,
      sections: view.sections.map((s) => {
        if (s.kind === 'prose') return s;
        const state = states.get(s.id)!;
        const exercise = lesson.exercises.find((e) => e.id === s.id)!;
        return {
          kind: s.kind,
          id: s.id,
          titleHtml: s.titleHtml,
          html: s.html,
          hintsTotal: s.hints.length,
          // unrevealed hints stay on the server
          hints: s.hints.slice(0, state.hintsShown),
          hasHintScript: s.hasHintScript,
          hasSolution: s.hasSolution,
          ...(state.solutionRevealed ? { solutionHtml: renderSolution(exercise) } : {}),
          status: state.status,
          ...(state.reason ? { reason: state.reason } : {}),
          ...(state.unavailable ? { unavailable: state.unavailable } : {}),
        } satisfies ExerciseJson;
      }),
      ...(unavailable ? { unavailable } : {}),
      previous: neighbour(index > 0 ? list[index - 1] : undefined) ?? null,
      next: neighbour(list[index + 1]) ?? null,
      run: run ? { step: run.step, ...(run.error ? { error: run.error } : {}), ...(run.place ? { place: run.place } : {}), sandbox: run.sandboxId ? sandboxJson(run.sandboxId) : null } : null,
    } satisfies LessonJson);
  });

  // the sandbox; or, the server being full, 202 and a place in line (the lesson starts by itself)
  const started = (res: Response, outcome: StartOutcome) => {
    if ('queued' in outcome) res.status(202).json({ queued: outcome.queued } satisfies Started);
    else res.json({ sandbox: sandboxJson(outcome.sandboxId) } satisfies Started);
  };

  api.post('/:id/start', async (req, res) => {
    const lesson = lessonOf(req, res);
    const learner = learnerOf(res);
    started(res, await player.start(learner, lesson.id, () => deps.admission?.refusal(learner)));
  });

  api.post('/:id/reset', async (req, res) => {
    const lesson = lessonOf(req, res);
    confirmed(req, 'resetting a lesson');
    started(res, await player.reset(learnerOf(res), lesson.id));
  });

  // the learner answered the warning that their idle sandbox would be reaped
  api.post('/:id/keep', (req, res) => {
    const lesson = lessonOf(req, res);
    if (!player.keep(learnerOf(res), lesson.id)) throw new HttpError(409, 'this lesson has no sandbox to keep: start it again');
    res.status(204).end();
  });

  api.post('/:id/exercises/:exercise/check', checks, async (req, res) => {
    const lesson = lessonOf(req, res);
    const r = await player.check(learnerOf(res), lesson.id, exerciseIdOf(req));
    res.json({ exerciseId: r.exerciseId, passed: r.passed, reason: r.reason, done: r.passed || r.newlyDone } satisfies CheckJson);
  });

  api.post('/:id/exercises/:exercise/hints', (req, res) => {
    const lesson = lessonOf(req, res);
    const exerciseId = exerciseIdOf(req);
    const shown = player.revealHint(learnerOf(res), lesson.id, exerciseId);
    const view = viewOf(lesson).sections.find((s) => s.kind === 'exercise' && s.id === exerciseId);
    const hints = view?.kind === 'exercise' ? view.hints : [];
    res.json({ hints: hints.slice(0, shown), hintsTotal: hints.length });
  });

  api.post('/:id/exercises/:exercise/diagnose', checks, async (req, res) => {
    const lesson = lessonOf(req, res);
    res.json({ text: await player.diagnose(learnerOf(res), lesson.id, exerciseIdOf(req)) });
  });

  api.post('/:id/exercises/:exercise/solution', (req, res) => {
    const lesson = lessonOf(req, res);
    const exerciseId = exerciseIdOf(req);
    confirmed(req, 'revealing the solution');
    const exercise = player.revealSolution(learnerOf(res), lesson.id, exerciseId);
    res.json({ solutionHtml: renderSolution(exercise) });
  });

  api.use((req, _res, next) => next(new HttpError(404, `no such API: ${req.method} /api/lessons${req.path}`)));
  api.use(playerErrors);
  api.use(apiErrors(deps.log));
  router.use('/api/lessons', api);

  // the lesson's files, for its images and links; only regular files inside its assets folder
  router.get('/lessons/:id/assets/*file', async (req, res) => {
    const lesson = lessonOf(req, res);
    const parts = req.params.file as unknown as string[];
    const bad = parts.some((p) => p === '' || p === '.' || p === '..' || /[\\/\0]/.test(p));
    if (!lesson.assetsDir || bad) throw new HttpError(404, 'no such asset');
    const root = await fs.realpath(lesson.assetsDir);
    const file = await fs.realpath(path.join(root, ...parts)).catch(() => undefined);
    const stat = file && file.startsWith(root + path.sep) ? await fs.stat(file) : undefined;
    if (!file || !stat?.isFile()) throw new HttpError(404, 'no such asset');
    res.set({
      'Content-Security-Policy': ASSET_CSP,
      'Content-Type': ASSET_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Cache-Control': 'no-cache',
    });
    res.sendFile(file, { dotfiles: 'allow', headers: {} });
  });

  // the lesson page; its content comes from the API
  router.get('/lessons/:id', (req, res) => {
    lessonOf(req, res);
    res.set('Cache-Control', 'no-cache').sendFile(deps.lessonPage);
  });
  router.use('/lessons', playerErrors, (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = err instanceof HttpError ? err.status : 500;
    if (status >= 500) deps.log?.error({ err }, 'lesson page failed');
    res.status(status).type('text/plain').send(err instanceof HttpError ? err.message : 'the server failed; see its log');
  });
  return router;
}

/** The player's failures, as HTTP errors. */
function playerErrors(err: unknown, _req: Request, _res: Response, next: NextFunction): void {
  if (err instanceof PlayerError) {
    const status = { 'not-found': 404, unavailable: 409, 'bad-request': 409, 'setup-failed': 500, refused: 429 }[err.code];
    next(new HttpError(status, err.message));
  } else next(err);
}
