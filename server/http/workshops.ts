// Workshop routes: the instructor's (sign-in, workshops, learners, export;
// every one behind the instructor session) and the learner's (join by code,
// resume link, which workshop am I in). Learners act only for themselves:
// nothing here takes a learner id from a learner.
import path from 'node:path';
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import { LESSON_ID } from '../contracts/lessons.js';
import type { Logger } from '../log.js';
import { DIST_DIR } from '../paths.js';
import type { LessonPlayer } from '../player/player.js';
import type { TerminalRegistry } from '../terminal/registry.js';
import { workshopView } from '../workshops/dashboard.js';
import { commandsCsv, toCsv } from '../workshops/export.js';
import type { Workshops } from '../workshops/index.js';
import { JoinError, type Workshop } from '../workshops/store.js';
import { apiErrors, HttpError } from './api.js';
import { learnerOf, type Identity } from './identity.js';
import type { InstructorGate } from './instructor.js';
import type { Ownership } from './ownership.js';
import { REPLAY_CSP } from './security.js';
import { clientAddress, rateLimited, RateLimiter, tooMany, type RateLimit } from './rate-limit.js';

export interface WorkshopRoutesDeps {
  workshops: Workshops;
  instructor: InstructorGate;
  identity: Identity;
  /** Resets a learner's lesson (its sandbox and progress) when the instructor asks. */
  player: LessonPlayer;
  terminals: TerminalRegistry;
  ownership: Ownership;
  log?: Logger;
  webDir?: string;
  /** Where a learner goes once in a workshop (default: the workshop's first lesson; a resume link, the lesson catalogue). */
  learnerHome?: string;
  /** The URL learners reach the server by (--public-url): join and resume links use it. */
  publicUrl?: string;
  limits?: Partial<typeof WORKSHOP_LIMITS>;
}

// a whole room joins from behind one NAT address: the per-address limit is for floods, the per-learner one for scripts
export const WORKSHOP_LIMITS = {
  join: { burst: 150, perSecond: 5 },
  lookup: { burst: 60, perSecond: 2 },
  joinPerLearner: { burst: 5, perSecond: 0.2 },
  login: { burst: 5, perSecond: 0.1 },
} satisfies Record<string, RateLimit>;

const workshopInput = z
  .object({
    name: z.string().trim().min(1, 'a workshop needs a name').max(100),
    lessons: z.array(z.string().regex(LESSON_ID, 'a lesson id')).min(1, 'pick at least one lesson').max(50),
    startsAt: z.number().int().positive().nullable().optional(),
    endsAt: z.number().int().positive().nullable().optional(),
    capacity: z.number().int().min(1).max(1000),
  })
  .refine((w) => !w.startsAt || !w.endsAt || w.endsAt > w.startsAt, { message: 'the end must come after the start', path: ['endsAt'] });

const joinInput = z.object({
  code: z.string().trim().min(1, 'enter the join code').max(32),
  name: z
    .string()
    .trim()
    .min(1, 'enter your name')
    .max(40, 'a name of at most 40 characters')
    .regex(/^[^\p{C}]+$/u, 'a name without control characters'),
});

const messageInput = z.object({ text: z.string().trim().min(1).max(1000), to: z.string().max(64).optional() });

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (!result.success) throw new HttpError(400, result.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; '));
  return result.data;
}

const JOIN_STATUS: Record<JoinError['code'], number> = { 'no-workshop': 404, 'not-started': 403, over: 410, full: 409, 'name-taken': 409 };

export function workshopRouter(deps: WorkshopRoutesDeps): express.Router {
  const { workshops, identity, terminals, ownership } = deps;
  const { store, auth } = workshops;
  const limits = { ...WORKSHOP_LIMITS, ...deps.limits };
  const limiters = Object.fromEntries(Object.entries(limits).map(([name, limit]) => [name, new RateLimiter(limit)])) as Record<keyof typeof WORKSHOP_LIMITS, RateLimiter>;
  const webDir = deps.webDir ?? path.join(DIST_DIR, 'web');
  const router = express.Router();
  const json = express.json({ limit: '16kb' });
  const instructor = deps.instructor.required();

  const page = (file: string, csp?: string) => (_req: Request, res: Response) => {
    res.set('Cache-Control', 'no-cache');
    if (csp) res.set('Content-Security-Policy', csp);
    res.sendFile(path.join(webDir, file), (err) => {
      if (err && !res.headersSent) res.status(503).type('text/plain').send(`the web page is not built: run "npm run build" (missing ${file})`);
    });
  };
  router.get(['/join', '/join/:code'], page('join.html'));
  router.get(['/instructor', '/instructor/'], page('instructor.html'));
  router.get('/instructor/workshops/:id', page('dashboard.html', REPLAY_CSP));

  const workshopOf = (req: Request): Workshop => {
    const w = store.get(String(req.params.id));
    if (!w) throw new HttpError(404, `no workshop ${String(req.params.id)}`);
    return w;
  };
  // the public URL when there is one (behind a proxy the request's own host is the proxy's view)
  const base = (req: Request) => deps.publicUrl?.replace(/\/$/, '') || `${req.protocol}://${req.get('host')}`;
  const resumeUrl = (req: Request, w: Workshop, learnerId: string) => `${base(req)}/r/${w.id}/${auth.resumeToken(w.id, learnerId)}`;
  // "Start the lessons" opens the first one: the catalogue would be one click short of it
  const home = (w: Workshop) => deps.learnerHome ?? (w.lessons[0] ? `/lessons/${encodeURIComponent(w.lessons[0])}` : '/');
  const summary = (w: Workshop) => ({ ...workshopView(w), learners: store.members(w.id).length });

  // ---- the instructor

  // only wrong secrets spend the address's budget: guessing slows down, signing in on several devices does not
  router.post('/api/instructor/login', json, (req, res) => {
    const from = clientAddress(req);
    const wait = limiters.login.peek(from);
    if (wait > 0) return tooMany(res, wait, 'too many wrong secrets');
    if (!auth.secretMatches((req.body as { secret?: unknown } | undefined)?.secret)) {
      limiters.login.take(from);
      deps.log?.warn({ from }, 'instructor sign-in refused');
      throw new HttpError(403, 'wrong instructor secret');
    }
    res.append('Set-Cookie', deps.instructor.signIn(req));
    res.status(204).end();
  });
  router.post('/api/instructor/logout', (req, res) => {
    res.append('Set-Cookie', deps.instructor.signOut(req));
    res.status(204).end();
  });
  router.get('/api/instructor/session', (req, res) => {
    res.json({ instructor: deps.instructor.isInstructor(req) });
  });

  const api = express.Router();
  api.use(instructor, json);
  api.get('/lessons', (_req, res) => {
    res.json({ lessons: workshops.lessons() });
  });
  api.get('/workshops', (_req, res) => {
    res.json({ workshops: store.list().map(summary) });
  });
  api.post('/workshops', (req, res) => {
    const input = parse(workshopInput, req.body);
    const unknown = input.lessons.filter((id) => !workshops.lesson(id));
    if (unknown.length) throw new HttpError(400, `no such lesson: ${unknown.join(', ')}`);
    const w = workshops.create(input);
    deps.log?.info({ workshop: w.id, code: w.code }, 'workshop created');
    res.status(201).json(summary(w));
  });
  api.get('/workshops/:id', (req, res) => {
    const w = workshopOf(req);
    res.json({ ...summary(w), joinUrl: `${base(req)}/join/${w.code}` });
  });
  api.put('/workshops/:id', (req, res) => {
    const w = workshopOf(req);
    const input = parse(workshopInput, req.body);
    const unknown = input.lessons.filter((id) => !workshops.lesson(id));
    if (unknown.length) throw new HttpError(400, `no such lesson: ${unknown.join(', ')}`);
    res.json(summary(workshops.update(w.id, input)!));
  });
  api.delete('/workshops/:id', (req, res) => {
    const w = workshopOf(req);
    workshops.remove(w.id);
    res.status(204).end();
  });
  api.post('/workshops/:id/extend', (req, res) => {
    const w = workshopOf(req);
    const { minutes } = parse(z.object({ minutes: z.number().int().min(1).max(24 * 60) }), req.body);
    res.json(summary(workshops.extend(w.id, minutes)!));
  });
  api.post('/workshops/:id/end', (req, res) => {
    const w = workshopOf(req);
    res.json(summary(workshops.end(w.id)!));
  });
  api.post('/workshops/:id/messages', (req, res) => {
    const w = workshopOf(req);
    const { text, to } = parse(messageInput, req.body);
    if (to !== undefined && !store.member(w.id, to)) throw new HttpError(404, `no learner ${to} in this workshop`);
    res.json({ sent: workshops.message(w.id, text, to) });
  });

  const memberOf = (req: Request) => {
    const w = workshopOf(req);
    const member = store.member(w.id, String(req.params.learner));
    if (!member) throw new HttpError(404, `no learner ${String(req.params.learner)} in this workshop`);
    return { w, member };
  };
  api.get('/workshops/:id/learners/:learner/terminals', (req, res) => {
    const { w, member } = memberOf(req);
    const list = ownership
      .sandboxesOf(member.learnerId)
      .flatMap((sandbox) => terminals.list(sandbox))
      .map((t) => ({ ...t.info(), socket: `/ws/workshops/${w.id}/terminals/${t.id}` }));
    res.json({ terminals: list });
  });
  api.post('/workshops/:id/learners/:learner/reset', async (req, res) => {
    const { w, member } = memberOf(req);
    const { lessonId } = parse(z.object({ lessonId: z.string().regex(LESSON_ID, 'a lesson id') }), req.body);
    if (!w.lessons.includes(lessonId)) throw new HttpError(400, `the lesson ${lessonId} is not part of this workshop`);
    await deps.player.reset(member.learnerId, lessonId);
    workshops.lessonReset(member.learnerId, lessonId);
    res.status(204).end();
  });
  api.get('/workshops/:id/export.json', (req, res) => {
    const w = workshopOf(req);
    res.set('Content-Disposition', `attachment; filename="${w.code}-progress.json"`);
    res.json({ workshop: workshopView(w), exportedAt: new Date().toISOString(), records: workshops.exportRecords(w.id), commands: workshops.exportCommands(w.id) });
  });
  api.get('/workshops/:id/commands.csv', (req, res) => {
    const w = workshopOf(req);
    res.set('Content-Disposition', `attachment; filename="${w.code}-commands.csv"`);
    res.type('text/csv; charset=utf-8').send(commandsCsv(workshops.exportCommands(w.id)));
  });
  api.get('/workshops/:id/export.csv', (req, res) => {
    const w = workshopOf(req);
    res.set('Content-Disposition', `attachment; filename="${w.code}-progress.csv"`);
    res.type('text/csv; charset=utf-8').send(toCsv(workshops.exportRecords(w.id)));
  });
  router.use('/api/instructor', api);

  // ---- the learner

  // a code is all a join needs: lookups are limited as joins are, or codes could be guessed by the thousand
  router.get('/api/join/:code', rateLimited(limiters.lookup, clientAddress, 'join-code lookups from this address'), (req, res) => {
    const w = store.byCode(String(req.params.code));
    if (!w) throw new HttpError(404, 'no workshop has this code');
    res.json({ name: w.name, lessons: w.lessons.map((id) => ({ id, title: workshops.lesson(id)?.title ?? id })) });
  });

  router.post(
    '/api/join',
    json,
    rateLimited(limiters.join, clientAddress, 'join requests from this address'),
    rateLimited(limiters.joinPerLearner, (_req, res) => learnerOf(res), 'join requests'),
    (req, res) => {
      const { code, name } = parse(joinInput, req.body);
      const w = store.byCode(code);
      if (!w) throw new HttpError(404, 'no workshop has this code; check it with your instructor');
      const learner = learnerOf(res);
      try {
        const { member, rejoined } = workshops.join(w.id, learner, name);
        deps.log?.info({ workshop: w.id, learner, rejoined }, 'learner joined');
        res.status(rejoined ? 200 : 201).json({ workshop: { id: w.id, name: w.name, lessons: w.lessons }, name: member.name, resumeUrl: resumeUrl(req, w, learner), home: home(w) });
      } catch (err) {
        if (err instanceof JoinError) throw new HttpError(JOIN_STATUS[err.code], err.message);
        throw err;
      }
    },
  );

  /** The learner's workshop (the latest they joined), for their pages. */
  router.get('/api/me/workshop', (req, res) => {
    const learner = learnerOf(res);
    const member = store.membershipsOf(learner)[0];
    const w = member && store.get(member.workshopId);
    if (!member || !w) return void res.json({ workshop: null });
    res.json({ workshop: { id: w.id, name: w.name, lessons: w.lessons, endsAt: w.endsAt, endedAt: w.endedAt }, name: member.name, resumeUrl: resumeUrl(req, w, learner), home: home(w) });
  });

  // A resume link: the learner's identity on this device, then their page.
  router.get('/r/:id/:token', (req, res) => {
    const w = store.get(String(req.params.id));
    const learner = w && auth.resumeLearner(w.id, String(req.params.token));
    if (!w || !learner || !store.member(w.id, learner)) {
      res.status(404).type('text/plain').send('this resume link is not valid: join again with the code your instructor gave you');
      return;
    }
    res.append('Set-Cookie', identity.setCookieHeader(identity.cookieFor(learner), req));
    res.redirect(303, deps.learnerHome ?? '/');
  });

  router.use(['/api/instructor', '/api/join', '/api/me'], apiErrors(deps.log));
  return router;
}
