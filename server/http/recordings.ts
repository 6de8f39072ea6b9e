// Recordings over HTTP: the learner's own (/api/me/recordings: list, replay
// data, the plain .cast, delete one or all; the /history page), and the
// instructor's view of a workshop member's (/api/instructor/workshops/:id/
// learners/:learner/recordings...). Who may see a recording is the same rule
// as for terminals: its learner (ownership.ts replayAccess), or the
// instructor through a workshop the learner is a member of; anything else is
// "not found", never "forbidden" (ids are not confirmed to strangers).
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import express, { type Request, type Response } from 'express';
import type { Logger } from '../log.js';
import { DIST_DIR } from '../paths.js';
import type { Recordings } from '../recording/index.js';
import type { RecordingRow } from '../store/recordings.js';
import type { Workshops } from '../workshops/index.js';
import { apiErrors, HttpError } from './api.js';
import { learnerOf } from './identity.js';
import type { InstructorGate } from './instructor.js';
import type { Ownership } from './ownership.js';
import { REPLAY_CSP } from './security.js';

export interface RecordingRoutesDeps {
  recordings: Recordings;
  ownership: Ownership;
  workshops?: { workshops: Workshops; instructor: InstructorGate };
  webDir?: string;
  log?: Logger;
}

const REC_ID = /^rec-[0-9a-f]{16}$/;

const publicRow = ({ learnerId: _l, file: _f, ...r }: RecordingRow) => r;

export function recordingRouter(deps: RecordingRoutesDeps): express.Router {
  const { recordings, ownership } = deps;
  const webDir = deps.webDir ?? path.join(DIST_DIR, 'web');
  const router = express.Router();

  router.get('/history', (_req, res) => {
    res.set({ 'Cache-Control': 'no-cache', 'Content-Security-Policy': REPLAY_CSP });
    res.sendFile(path.join(webDir, 'history.html'), (err) => {
      if (err && !res.headersSent) res.status(503).type('text/plain').send('the web page is not built: run "npm run build" (missing history.html)');
    });
  });

  /** Sends the plain .cast; as a download when asked. */
  const sendCast = async (req: Request, res: Response, row: RecordingRow) => {
    res.type('application/x-asciicast; charset=utf-8');
    res.set('Cache-Control', 'no-store');
    if (req.query.download !== undefined) res.set('Content-Disposition', `attachment; filename="${row.lessonId}-${row.id}.cast"`);
    try {
      await pipeline(recordings.cast(row), res);
    } catch (err) {
      if (!res.headersSent) throw new HttpError(404, `no recording ${row.id}`);
      deps.log?.warn({ err, recording: row.id }, 'sending a recording failed');
      res.destroy();
    }
  };

  // ---- the learner's own

  const mine = async (req: Request, res: Response): Promise<RecordingRow> => {
    const id = String(req.params.rec);
    const row = REC_ID.test(id) ? await recordings.get(id) : undefined;
    if (!row || ownership.replayAccess(learnerOf(res), row.learnerId) !== 'owner') throw new HttpError(404, `no recording ${id}`);
    return row;
  };
  const me = express.Router();
  me.get('/', (_req, res) => {
    const learner = learnerOf(res);
    res.json({ recorded: recordings.records(learner), mode: recordings.mode, recordings: recordings.of(learner).map(publicRow) });
  });
  me.get('/commands', (_req, res) => {
    res.json({ commands: recordings.store.commands(learnerOf(res)) });
  });
  me.get('/:rec', async (req, res) => {
    const row = await mine(req, res);
    res.json(recordings.replay(row, `/api/me/recordings/${row.id}/cast`));
  });
  me.get('/:rec/cast', async (req, res) => {
    await sendCast(req, res, await mine(req, res));
  });
  me.delete('/:rec', async (req, res) => {
    const row = await mine(req, res);
    await recordings.remove(row.id);
    deps.log?.info({ recording: row.id, learner: row.learnerId }, 'recording deleted by its learner');
    res.status(204).end();
  });
  me.delete('/', async (_req, res) => {
    await recordings.removeLearner(learnerOf(res));
    res.status(204).end();
  });
  router.use('/api/me/recordings', me, apiErrors(deps.log));

  // ---- the instructor's, of a workshop's members

  if (deps.workshops) {
    const { workshops, instructor } = deps.workshops;
    const api = express.Router({ mergeParams: true });
    api.use(instructor.required());
    /** The member of the workshop in the path, or 404. */
    const memberOf = (req: Request) => {
      const w = workshops.store.get(String(req.params.id));
      const member = w && workshops.store.member(w.id, String(req.params.learner));
      if (!w || !member) throw new HttpError(404, `no learner ${String(req.params.learner)} in this workshop`);
      return { w, learnerId: member.learnerId };
    };
    const theirs = async (req: Request) => {
      const { w, learnerId } = memberOf(req);
      const id = String(req.params.rec);
      const row = REC_ID.test(id) ? await recordings.get(id) : undefined;
      if (!row || row.learnerId !== learnerId) throw new HttpError(404, `no recording ${id} of this learner`);
      return { w, row };
    };
    api.get('/', (req, res) => {
      const { learnerId } = memberOf(req);
      res.json({ recordings: recordings.of(learnerId).map(publicRow) });
    });
    api.get('/commands', (req, res) => {
      const { learnerId } = memberOf(req);
      res.json({ commands: recordings.store.commands(learnerId) });
    });
    api.get('/:rec', async (req, res) => {
      const { w, row } = await theirs(req);
      res.json(recordings.replay(row, `/api/instructor/workshops/${w.id}/learners/${row.learnerId}/recordings/${row.id}/cast`));
    });
    api.get('/:rec/cast', async (req, res) => {
      const { row } = await theirs(req);
      await sendCast(req, res, row);
    });
    router.use('/api/instructor/workshops/:id/learners/:learner/recordings', api, apiErrors(deps.log));
  }
  return router;
}
