// Workshops over HTTP and WebSocket against a real server: the instructor's
// sign-in and what it guards, joining (codes, capacity, names, resume links),
// rate limits, the live dashboard, the instructor's view of a learner's
// terminal, and the export.
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { DashboardMessage } from '../../server/contracts/dashboard.js';
import { Learner, startTestServer, upgradeStatus, type TestServer } from '../helpers/server.js';

const SECRET = 'correct horse battery staple';
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer('workshops', { maxSandboxes: 4, instructorSecret: SECRET });
});

afterAll(async () => {
  await server.close();
  expect(await server.leftovers()).toEqual([]);
});

/** A browser signed in as the instructor (the learner cookie it also gets is irrelevant). */
async function instructor(): Promise<Learner> {
  const browser = await server.learner();
  const res = await browser.fetch('/api/instructor/login', { method: 'POST', body: JSON.stringify({ secret: SECRET }) });
  expect(res.status).toBe(204);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('boxlab_instructor='))!;
  expect(cookie).toMatch(/; HttpOnly; SameSite=Strict$/);
  return Learner.withCookie(server.url, `${browser.cookie}; ${cookie.split(';')[0]}`);
}

const post = (who: Learner, path: string, body: unknown = {}) => who.fetch(path, { method: 'POST', body: JSON.stringify(body) });

interface WorkshopJson {
  id: string;
  code: string;
  name: string;
  capacity: number;
  learners: number;
  endsAt: number | null;
  endedAt: number | null;
}

async function createWorkshop(teacher: Learner, body: Record<string, unknown> = {}): Promise<WorkshopJson> {
  const res = await post(teacher, '/api/instructor/workshops', { name: 'Tuesday class', lessons: ['01-namespaces', '02-cgroups'], capacity: 30, ...body });
  expect(res.status).toBe(201);
  return (await res.json()) as WorkshopJson;
}

/** A dashboard socket and the messages it got. */
function dashboard(cookie: string, workshopId: string): { ws: WebSocket; messages: DashboardMessage[]; next(pred: (m: DashboardMessage) => boolean, timeoutMs?: number): Promise<DashboardMessage> } {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws/workshops/${workshopId}/dashboard`, { headers: { cookie, origin: server.url } });
  const messages: DashboardMessage[] = [];
  const waiters: Array<{ pred: (m: DashboardMessage) => boolean; resolve: (m: DashboardMessage) => void }> = [];
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as DashboardMessage;
    messages.push(m);
    for (const w of waiters.filter((w) => w.pred(m))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(m);
    }
  });
  return {
    ws,
    messages,
    next: (pred, timeoutMs = 2000) =>
      new Promise((resolve, reject) => {
        const found = messages.find(pred);
        if (found) return resolve(found);
        const timer = setTimeout(() => reject(new Error('no such dashboard message in time')), timeoutMs);
        waiters.push({ pred, resolve: (m) => (clearTimeout(timer), resolve(m)) });
      }),
  };
}

it('keeps every instructor route, page data and socket behind the instructor session', async () => {
  const teacher = await instructor();
  const w = await createWorkshop(teacher);
  const learner = await server.learner();
  expect((await post(learner, '/api/join', { code: w.code, name: 'Ada' })).status).toBe(201);
  const box = await learner.createSandbox();
  const term = await learner.createTerminal(box.id);

  // a learner, even one who joined with the code, gets nothing instructor-only
  const routes: Array<[string, string]> = [
    ['GET', '/api/instructor/workshops'],
    ['GET', '/api/instructor/lessons'],
    ['GET', `/api/instructor/workshops/${w.id}`],
    ['PUT', `/api/instructor/workshops/${w.id}`],
    ['DELETE', `/api/instructor/workshops/${w.id}`],
    ['POST', `/api/instructor/workshops/${w.id}/end`],
    ['POST', `/api/instructor/workshops/${w.id}/extend`],
    ['POST', `/api/instructor/workshops/${w.id}/messages`],
    ['GET', `/api/instructor/workshops/${w.id}/export.csv`],
    ['GET', `/api/instructor/workshops/${w.id}/export.json`],
    ['GET', `/api/instructor/workshops/${w.id}/learners/x/terminals`],
    ['POST', `/api/instructor/workshops/${w.id}/learners/x/reset`],
    ['GET', '/api/instructor/anything-else'],
  ];
  for (const [method, path] of routes) {
    const res = await learner.fetch(path, { method, ...(method === 'GET' ? {} : { body: '{}' }) });
    expect([method, path, res.status]).toEqual([method, path, 401]);
  }
  expect(await learner.json('/api/instructor/session')).toEqual({ instructor: false });
  expect(await upgradeStatus(new WebSocket(`${server.url.replace('http', 'ws')}/ws/workshops/${w.id}/dashboard`, { headers: { cookie: learner.cookie, origin: server.url } }))).toBe(401);
  expect(await upgradeStatus(new WebSocket(`${server.url.replace('http', 'ws')}/ws/workshops/${w.id}/terminals/${term.id}`, { headers: { cookie: learner.cookie, origin: server.url } }))).toBe(401);
  // a forged or expired session is no session
  const forged = `${learner.cookie}; boxlab_instructor=${Date.now() + 3600_000}.${'A'.repeat(43)}`;
  expect((await fetch(`${server.url}/api/instructor/workshops`, { headers: { cookie: forged } })).status).toBe(401);

  // the instructor's socket passes the instructor check, and a cross-site page cannot use their cookie
  const instructorCookie = teacher.cookie;
  expect(await upgradeStatus(new WebSocket(`${server.url.replace('http', 'ws')}/ws/workshops/${w.id}/terminals/${term.id}`, { headers: { cookie: instructorCookie, origin: server.url } }))).toBe(101);
  expect(await upgradeStatus(new WebSocket(`${server.url.replace('http', 'ws')}/ws/workshops/${w.id}/dashboard`, { headers: { cookie: instructorCookie, origin: 'https://evil.example' } }))).toBe(403);

  // nor does the instructor's session open the learner's own socket: that one knows owners only
  expect(await upgradeStatus(new WebSocket(learner.wsUrl(term.id), { headers: { cookie: instructorCookie, origin: server.url } }))).toBe(404);

  // another learner reaches neither the terminal nor its sandbox
  const other = await server.learner();
  expect(await upgradeStatus(other.socket(term.id))).toBe(404);
  expect((await other.fetch(`/api/terminals/${term.id}`)).status).toBe(404);
  expect((await other.fetch(`/api/sandboxes/${box.id}`, { method: 'DELETE' })).status).toBe(404);
  await learner.fetch(`/api/sandboxes/${box.id}`, { method: 'DELETE' });
});

it('joins by code with a name, enforces the capacity with a clear message, and counts a returning learner once', async () => {
  const teacher = await instructor();
  const w = await createWorkshop(teacher, { name: 'Small room', capacity: 2 });
  const [a, b, c] = [await server.learner(), await server.learner(), await server.learner()];
  expect(await (await fetch(`${server.url}/api/join/${w.code.toLowerCase()}`)).json()).toMatchObject({ name: 'Small room' });
  expect((await post(a, '/api/join', { code: w.code.toLowerCase(), name: 'Ada' })).status).toBe(201);
  expect(await (await post(b, '/api/join', { code: w.code, name: 'ada' })).json()).toEqual({ error: expect.stringContaining('already goes by "ada"') });
  expect((await post(b, '/api/join', { code: w.code, name: 'Brian' })).status).toBe(201);
  const full = await post(c, '/api/join', { code: w.code, name: 'Cleo' });
  expect(full.status).toBe(409);
  expect(((await full.json()) as { error: string }).error).toMatch(/is full \(2 learners\)/);
  // Ada again (a reload): same member, not a third
  const again = await post(a, '/api/join', { code: w.code, name: 'Ada L.' });
  expect(again.status).toBe(200);
  expect((await teacher.json<WorkshopJson>(`/api/instructor/workshops/${w.id}`)).learners).toBe(2);
  // bad input
  expect((await post(c, '/api/join', { code: 'NOPE42', name: 'Cleo' })).status).toBe(404);
  expect((await post(c, '/api/join', { code: w.code, name: '' })).status).toBe(400);
  expect((await post(c, '/api/join', { code: w.code, name: 'a\u0007b' })).status).toBe(400);
  // an ended workshop takes nobody new
  await post(teacher, `/api/instructor/workshops/${w.id}/extend`, { minutes: 30 });
  const ended = await (await post(teacher, `/api/instructor/workshops/${w.id}/end`)).json() as WorkshopJson;
  expect(ended.endedAt).toEqual(expect.any(Number));
  const d = await server.learner();
  expect((await post(d, '/api/join', { code: w.code, name: 'Dan' })).status).toBe(410);
});

it('gives a learner their own session back on another device with their resume link, and only with theirs', async () => {
  const teacher = await instructor();
  const w = await createWorkshop(teacher);
  const ada = await server.learner();
  const joined = (await (await post(ada, '/api/join', { code: w.code, name: 'Ada' })).json()) as { resumeUrl: string };
  expect(joined.resumeUrl).toMatch(new RegExp(`/r/${w.id}/[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}$`));

  // a phone: an empty cookie jar follows the link
  const res = await fetch(joined.resumeUrl, { redirect: 'manual' });
  expect(res.status).toBe(303);
  const cookie = res.headers.getSetCookie().at(-1)!;
  expect(cookie).toMatch(/^boxlab_learner=.*HttpOnly; SameSite=Lax$/);
  expect(cookie.split(';')[0]).toBe(ada.cookie);
  // tampered, or for another workshop: refused
  const other = await createWorkshop(teacher);
  expect((await fetch(joined.resumeUrl.replace(`/r/${w.id}/`, `/r/${other.id}/`), { redirect: 'manual' })).status).toBe(404);
  expect((await fetch(`${joined.resumeUrl.slice(0, -2)}xx`, { redirect: 'manual' })).status).toBe(404);
  const me = await Learner.withCookie(server.url, cookie.split(';')[0]!).json<{ name: string; workshop: { id: string } }>('/api/me/workshop');
  expect(me).toMatchObject({ name: 'Ada', workshop: { id: w.id } });
  // a learner in a workshop sees the workshop's lessons, in its order
  expect((await ada.json<{ lessons: Array<{ id: string }> }>('/api/lessons')).lessons.map((l) => l.id)).toEqual(['01-namespaces', '02-cgroups']);
});

it('rate-limits joining and check requests per learner', async () => {
  const teacher = await instructor();
  const w = await createWorkshop(teacher);
  const eager = await server.learner();
  const joins: number[] = [];
  for (let i = 0; i < 7; i++) joins.push((await post(eager, '/api/join', { code: w.code, name: 'Eager' })).status);
  expect(joins.slice(0, 2)).toEqual([201, 200]);
  expect(joins.at(-1)).toBe(429);
  const checks: number[] = [];
  for (let i = 0; i < 14; i++) checks.push((await post(eager, '/api/lessons/01-namespaces/exercises/uts/check')).status);
  expect(checks.slice(0, 5).every((s) => s !== 429)).toBe(true);
  expect(checks.at(-1)).toBe(429);
});

it('streams the grid: a snapshot, then a learner\'s progress within a second; exports it as CSV and JSON', async () => {
  const teacher = await instructor();
  const w = await createWorkshop(teacher);
  const [lesson] = server.workshops.lessons();
  const exercise = lesson!.exercises[0]!;
  const ada = await server.learner();
  const adaId = ada.cookie.slice('boxlab_learner='.length, 'boxlab_learner='.length + 22);
  await post(ada, '/api/join', { code: w.code, name: '=Ada, "the first"' });

  const dash = dashboard(teacher.cookie, w.id);
  const snapshot = await dash.next((m) => m.type === 'snapshot');
  if (snapshot.type !== 'snapshot') throw new Error('unreachable');
  expect(snapshot.columns.map((c) => c.lessonId)).toEqual([...Array(server.workshops.lesson('01-namespaces')!.exercises.length).fill('01-namespaces'), ...Array(server.workshops.lesson('02-cgroups')!.exercises.length).fill('02-cgroups')]);
  expect(snapshot.rows).toEqual([expect.objectContaining({ name: '=Ada, "the first"', cells: {}, current: `01-namespaces/${exercise.id}` })]);

  // a late joiner appears; a completion turns the cell done
  const bob = await server.learner();
  await post(bob, '/api/join', { code: w.code, name: 'Bob' });
  await dash.next((m) => m.type === 'rows' && m.rows.some((r) => r.name === 'Bob'));
  server.store.touchLearner(adaId);
  server.store.recordAttempt(adaId, '01-namespaces', exercise.id, { passed: true });
  const sent = Date.now();
  server.bus.emit({ type: 'check', learnerId: adaId, lessonId: '01-namespaces', exerciseId: exercise.id, status: 'done', trigger: 'auto', at: sent });
  const delta = await dash.next((m) => m.type === 'rows' && m.rows.some((r) => r.learnerId === adaId && r.cells[`01-namespaces/${exercise.id}`] === 'done'), 1000);
  expect(Date.now() - sent).toBeLessThan(1000);
  if (delta.type !== 'rows') throw new Error('unreachable');
  expect(delta.rows.find((r) => r.learnerId === adaId)!.current).toBe(`01-namespaces/${lesson!.exercises[1]!.id}`);
  // events of learners outside the workshop never reach it
  const count = dash.messages.length;
  server.bus.emit({ type: 'check', learnerId: 'someone-else', lessonId: '01-namespaces', exerciseId: exercise.id, status: 'done', trigger: 'auto', at: Date.now() });
  await new Promise((r) => setTimeout(r, 300));
  expect(dash.messages.length).toBe(count);
  dash.ws.close();

  const csv = await teacher.fetch(`/api/instructor/workshops/${w.id}/export.csv`);
  expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
  const lines = (await csv.text()).trim().split('\r\n');
  expect(lines[0]).toBe('learner,lesson,exercise,completed_at,attempts,hints_used,solution_revealed');
  // the name is quoted and defused for spreadsheets
  expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^"'=Ada, ""the first""",01-namespaces,${exercise.id},\\d{4}-\\d\\d-\\d\\dT[^,]+Z,1,0,false$`)));
  expect(lines.filter((l) => l.startsWith('Bob,'))).toHaveLength(snapshot.columns.length);
  const json = await teacher.json<{ records: Array<Record<string, unknown>> }>(`/api/instructor/workshops/${w.id}/export.json`);
  expect(json.records).toContainEqual({ learner: '=Ada, "the first"', learnerId: adaId, lesson: '01-namespaces', exercise: exercise.id, completedAt: expect.stringMatching(/Z$/), attempts: 1, hintsUsed: 0, solutionRevealed: false });
});

it('sends messages to one learner or to all, and tells a learner when the instructor takes over their terminal', async () => {
  const teacher = await instructor();
  const w = await createWorkshop(teacher);
  const [ada, bob] = [await server.learner(), await server.learner()];
  await post(ada, '/api/join', { code: w.code, name: 'Ada' });
  await post(bob, '/api/join', { code: w.code, name: 'Bob' });
  const id = (l: Learner) => l.cookie.slice('boxlab_learner='.length, 'boxlab_learner='.length + 22);
  const notices: Record<string, unknown[]> = { ada: [], bob: [] };
  server.bus.onNotice(id(ada), (n) => notices.ada!.push(n));
  server.bus.onNotice(id(bob), (n) => notices.bob!.push(n));

  expect(await (await post(teacher, `/api/instructor/workshops/${w.id}/messages`, { text: 'Break until 11:00', to: id(ada) })).json()).toEqual({ sent: 1 });
  expect(await (await post(teacher, `/api/instructor/workshops/${w.id}/messages`, { text: 'Welcome!' })).json()).toEqual({ sent: 2 });
  expect((await post(teacher, `/api/instructor/workshops/${w.id}/messages`, { text: 'x', to: 'not-a-member' })).status).toBe(404);
  expect(notices.ada).toEqual([expect.objectContaining({ type: 'message', text: 'Break until 11:00' }), expect.objectContaining({ type: 'message', text: 'Welcome!' })]);
  expect(notices.bob).toEqual([expect.objectContaining({ type: 'message', text: 'Welcome!' })]);

  const box = await ada.createSandbox();
  const term = await ada.createTerminal(box.id);
  const listed = await teacher.json<{ terminals: Array<{ id: string; socket: string }> }>(`/api/instructor/workshops/${w.id}/learners/${id(ada)}/terminals`);
  expect(listed.terminals.map((t) => t.id)).toEqual([term.id]);
  // a terminal of someone outside this workshop is not reachable through it
  const outsider = await server.learner();
  const obox = await outsider.createSandbox();
  const oterm = await outsider.createTerminal(obox.id);
  expect(await upgradeStatus(new WebSocket(`${server.url.replace('http', 'ws')}/ws/workshops/${w.id}/terminals/${oterm.id}`, { headers: { cookie: teacher.cookie, origin: server.url } }))).toBe(404);

  const take = new WebSocket(`${server.url.replace('http', 'ws')}${listed.terminals[0]!.socket}?takeover=1`, { headers: { cookie: teacher.cookie, origin: server.url } });
  await new Promise((resolve) => take.once('open', resolve));
  expect(notices.ada!.at(-1)).toMatchObject({ type: 'takeover', active: true, by: 'Instructor' });
  take.close();
  await new Promise((resolve) => take.once('close', resolve));
  await new Promise((r) => setTimeout(r, 50));
  expect(notices.ada!.at(-1)).toMatchObject({ type: 'takeover', active: false });
  expect(notices.bob!.some((n) => (n as { type: string }).type === 'takeover')).toBe(false);
  await ada.fetch(`/api/sandboxes/${box.id}`, { method: 'DELETE' });
  await outsider.fetch(`/api/sandboxes/${obox.id}`, { method: 'DELETE' });
});

it('resets a learner\'s lesson through the player: progress back to "to do", their page told', async () => {
  const teacher = await instructor();
  const w = await createWorkshop(teacher);
  const ada = await server.learner();
  await post(ada, '/api/join', { code: w.code, name: 'Ada' });
  const adaId = ada.cookie.slice('boxlab_learner='.length, 'boxlab_learner='.length + 22);
  const exercise = server.workshops.lesson('01-namespaces')!.exercises[0]!.id;
  server.store.recordAttempt(adaId, '01-namespaces', exercise, { passed: true });
  const notices: unknown[] = [];
  const events: unknown[] = [];
  const offNotice = server.bus.onNotice(adaId, (n) => notices.push(n));
  const offEvents = server.bus.on((e) => e.learnerId === adaId && events.push(e));
  expect((await post(teacher, `/api/instructor/workshops/${w.id}/learners/${adaId}/reset`, { lessonId: '03-copy-on-write' })).status).toBe(400);
  expect((await post(teacher, `/api/instructor/workshops/${w.id}/learners/${adaId}/reset`, { lessonId: '01-namespaces' })).status).toBe(204);
  expect(server.store.exercise(adaId, '01-namespaces', exercise)).toMatchObject({ completedAt: null, attempts: 1 });
  expect(events).toContainEqual(expect.objectContaining({ type: 'reset', lessonId: '01-namespaces' }));
  expect(notices).toContainEqual(expect.objectContaining({ type: 'reset', lessonId: '01-namespaces' }));
  offNotice.dispose();
  offEvents.dispose();
  // the player started the lesson afresh for her: end it
  for (const id of server.ownership.sandboxesOf(adaId)) await server.sandboxes.destroy(id);
});

// last: it leaves this address blocked from signing in for a while
it('signs the instructor in with the secret only, and slows down guessing', async () => {
  const guesser = await server.learner();
  const wrong = await post(guesser, '/api/instructor/login', { secret: 'password' });
  expect(wrong.status).toBe(403);
  expect(wrong.headers.getSetCookie().some((c) => c.startsWith('boxlab_instructor='))).toBe(false);
  expect((await post(guesser, '/api/instructor/login', {})).status).toBe(403);
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await post(guesser, '/api/instructor/login', { secret: `guess-${i}` })).status);
  expect(statuses.at(-1)).toBe(429);
  // signing in again from elsewhere did not spend the budget: only wrong secrets do (tested above, 6 sign-ins before this)
});
