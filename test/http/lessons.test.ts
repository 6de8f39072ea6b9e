// The lesson routes against a real server, the shipped lessons and real
// sandboxes: what a learner may see and do, what never leaves the server, and
// how bad requests fail.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { LearnerEvent } from '../../server/events.js';
import type { LearnerMessage } from '../../server/contracts/learner-channel.js';
import { processesIn } from '../helpers/drivers.js';
import { startTestServer, upgradeStatus, type Learner, type TestServer } from '../helpers/server.js';
import type { CatalogueEntry } from '../../server/contracts/lessons.js';

let server: TestServer;
const events: LearnerEvent[] = [];

beforeAll(async () => {
  server = await startTestServer('lessons', { maxSandboxes: 4 });
  server.bus.on((e) => events.push(e));
});

afterAll(async () => {
  await server.close();
  expect(await server.leftovers()).toEqual([]);
});

interface CatalogueJson {
  lessons: CatalogueEntry[];
}
interface ExerciseJson {
  kind: 'exercise';
  id: string;
  status: string;
  reason?: string;
  hints: string[];
  hintsTotal: number;
  solutionHtml?: string;
}
interface LessonJson {
  id: string;
  title: string;
  introHtml: string;
  sections: Array<ExerciseJson | { kind: 'prose'; html: string }>;
  previous: { id: string } | null;
  next: { id: string } | null;
  run: { step: string; sandbox: { id: string } | null } | null;
}

const exercises = (lesson: LessonJson) => lesson.sections.filter((s): s is ExerciseJson => s.kind === 'exercise');
const post = (learner: Learner, path: string, body: unknown = {}) => learner.fetch(path, { method: 'POST', body: JSON.stringify(body) });

/** The UTS exercise's solution, left running in the sandbox as a learner would leave it. */
async function solveUts(sandboxId: string): Promise<void> {
  const r = await server.sandboxes.exec(sandboxId, ['sh', '-c', "setsid -f unshare --uts sh -c 'hostname mybox; exec sleep infinity' </dev/null >/dev/null 2>&1"]);
  expect(r.exitCode).toBe(0);
}

it('lists every lesson with its summary, time and the learner\'s progress', async () => {
  const learner = await server.learner();
  const { lessons } = await learner.json<CatalogueJson>('/api/lessons');
  expect(lessons.map((l) => l.id)).toEqual(['01-namespaces', '02-cgroups', '03-copy-on-write', '04-networking', '05-container-from-scratch', '06-privileges', '07-docker-under-the-hood', '08-images-and-builds']);
  // the catalogue says what each needs of the host, the engine lessons a Docker engine
  expect(lessons.find((l) => l.id === '03-copy-on-write')!.needs).toEqual(['the overlay filesystem']);
  expect(lessons.find((l) => l.id === '07-docker-under-the-hood')!.needs).toContain('a Docker engine inside the sandbox');
  for (const l of lessons) {
    expect(l.summary.length).toBeGreaterThan(20);
    expect(l.time).toMatch(/\d+ min/);
    expect(l.exercises).toBeGreaterThan(0);
    expect(l.done).toBe(0);
  }
});

it('sends a lesson as sanitised HTML, without checks, solutions or hints not yet revealed', async () => {
  const learner = await server.learner();
  const res = await learner.fetch('/api/lessons/01-namespaces');
  expect(res.status).toBe(200);
  const text = await res.text();
  const lesson = JSON.parse(text) as LessonJson;
  expect(lesson).toMatchObject({ id: '01-namespaces', title: 'Namespaces', previous: null, next: { id: '02-cgroups' }, run: null });
  expect(lesson.introHtml).toContain('<table>');
  expect(exercises(lesson).map((e) => [e.id, e.status, e.hints.length])).toEqual([
    ['uts', 'todo', 0],
    ['pid', 'todo', 0],
    ['proc', 'todo', 0],
    ['mount', 'todo', 0],
    ['persist', 'todo', 0],
    ['user', 'todo', 0],
  ]);
  expect(exercises(lesson)[0]!.hintsTotal).toBe(4);
  // neither the check, nor the solution, nor the hint text
  expect(text).not.toContain('ns_holders');
  expect(text).not.toContain("exec sleep infinity' &");
  expect(text).not.toContain('runs COMMAND in a new UTS namespace');
  expect(text).not.toMatch(/<script|onerror=|javascript:/i);
});

it('gives each learner a sandbox of their own for a lesson, resumes it, and keeps others out', async () => {
  const [alice, bob] = [await server.learner(), await server.learner()];
  const started = await (await post(alice, '/api/lessons/01-namespaces/start')).json() as { sandbox: { id: string; hostname: string } };
  expect(started.sandbox).toMatchObject({ id: expect.stringMatching(/^sbx-/), hostname: expect.stringMatching(/^box-/) });
  // starting again resumes the same sandbox
  const again = await (await post(alice, '/api/lessons/01-namespaces/start')).json() as { sandbox: { id: string } };
  expect(again.sandbox.id).toBe(started.sandbox.id);
  expect((await alice.json<LessonJson>('/api/lessons/01-namespaces')).run).toMatchObject({ step: 'ready', sandbox: { id: started.sandbox.id } });

  // bob sees neither the sandbox nor its terminals, and cannot check alice's lesson
  expect((await post(bob, `/api/sandboxes/${started.sandbox.id}/terminals`, { cols: 80, rows: 24 })).status).toBe(404);
  expect((await bob.json<LessonJson>('/api/lessons/01-namespaces')).run).toBeNull();
  expect((await post(bob, '/api/lessons/01-namespaces/exercises/uts/check')).status).toBe(409);
  // alice may open a terminal in it
  expect((await post(alice, `/api/sandboxes/${started.sandbox.id}/terminals`, { cols: 80, rows: 24 })).status).toBe(201);
  expect(events).toContainEqual(expect.objectContaining({ type: 'lesson-opened', lessonId: '01-namespaces' }));
});

it('checks on demand, reveals hints one at a time and the solution only when confirmed, and resets', async () => {
  const learner = await server.learner();
  const { sandbox } = await (await post(learner, '/api/lessons/01-namespaces/start')).json() as { sandbox: { id: string } };

  // the live channel hears what happens to this learner's exercises
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws/learner`, { headers: { cookie: learner.cookie, origin: learner.origin } });
  const heard: LearnerMessage[] = [];
  ws.on('message', (data) => heard.push(JSON.parse(String(data)) as LearnerMessage));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));

  const failed = await (await post(learner, '/api/lessons/01-namespaces/exercises/uts/check')).json() as { passed: boolean; reason: string };
  expect(failed.passed).toBe(false);
  expect(failed.reason).toMatch(/No process is running in a UTS namespace of its own/);
  expect(exercises(await learner.json<LessonJson>('/api/lessons/01-namespaces'))[0]).toMatchObject({ status: 'failed', reason: failed.reason });

  await solveUts(sandbox.id);
  expect(await (await post(learner, '/api/lessons/01-namespaces/exercises/uts/check')).json()).toMatchObject({ passed: true, done: true });
  expect(exercises(await learner.json<LessonJson>('/api/lessons/01-namespaces'))[0]!.status).toBe('done');
  expect((await learner.json<CatalogueJson>('/api/lessons')).lessons[0]!.done).toBe(1);
  await expect.poll(() => heard.filter((m) => m.kind === 'update' && m.update.type === 'exercise').map((m) => m.kind === 'update' && m.update.type === 'exercise' && m.update.status)).toEqual(['checking', 'failed', 'checking', 'done']);

  // hints: one more each time, never past the last
  const hint = async () => (await (await post(learner, '/api/lessons/01-namespaces/exercises/pid/hints')).json()) as { hints: string[]; hintsTotal: number };
  expect((await hint()).hints).toHaveLength(1);
  const second = await hint();
  expect(second.hints).toHaveLength(2);
  for (let i = 0; i < second.hintsTotal; i++) await hint();
  expect((await hint()).hints).toHaveLength(second.hintsTotal);
  expect(exercises(await learner.json<LessonJson>('/api/lessons/01-namespaces'))[1]!.hints).toHaveLength(second.hintsTotal);

  // the solution: refused without the confirmation, then given and remembered
  const unconfirmed = await post(learner, '/api/lessons/01-namespaces/exercises/uts/solution');
  expect(unconfirmed.status).toBe(400);
  expect((await unconfirmed.json()).error).toMatch(/confirm/);
  const solution = await (await post(learner, '/api/lessons/01-namespaces/exercises/uts/solution', { confirm: true })).json() as { solutionHtml: string };
  expect(solution.solutionHtml).toContain('unshare');
  expect(exercises(await learner.json<LessonJson>('/api/lessons/01-namespaces'))[0]!.solutionHtml).toBe(solution.solutionHtml);

  // reset: confirmed only; then the sandbox is clean (same id) and every exercise to do
  expect((await post(learner, '/api/lessons/01-namespaces/reset')).status).toBe(400);
  const reset = await (await post(learner, '/api/lessons/01-namespaces/reset', { confirm: true })).json() as { sandbox: { id: string } };
  expect(reset.sandbox.id).toBe(sandbox.id);
  const ps = await server.sandboxes.exec(sandbox.id, ['sh', '-c', 'ps -eo comm= | grep -c sleep || true']);
  expect(ps.stdout.trim()).toBe('0');
  expect(exercises(await learner.json<LessonJson>('/api/lessons/01-namespaces')).map((e) => e.status)).toEqual(Array(6).fill('todo'));
  await expect.poll(() => heard.some((m) => m.kind === 'update' && m.update.type === 'reset')).toBe(true);
  expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['check', 'hint', 'solution', 'reset']));

  // a notice for this learner reaches their page
  server.bus.notify(learnerIdOf(learner), { type: 'message', from: 'instructor', text: 'five minutes left', at: Date.now() });
  await expect.poll(() => heard.some((m) => m.kind === 'notice' && m.notice.type === 'message' && m.notice.text === 'five minutes left')).toBe(true);
  ws.close();
});

function learnerIdOf(learner: Learner): string {
  return decodeURIComponent(learner.cookie.split('=')[1]!).split('.')[0]!;
}

it('serves a lesson\'s assets, and nothing outside its assets folder', async () => {
  const learner = await server.learner();
  const svg = await learner.fetch('/lessons/03-copy-on-write/assets/overlay.svg');
  expect(svg.status).toBe(200);
  expect(svg.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
  expect(svg.headers.get('content-security-policy')).toMatch(/sandbox/);
  expect(await svg.text()).toContain('<svg');
  for (const path of [
    '/lessons/03-copy-on-write/assets/../lesson.md',
    '/lessons/03-copy-on-write/assets/%2e%2e/lesson.md',
    '/lessons/03-copy-on-write/assets/..%2flesson.md',
    '/lessons/03-copy-on-write/assets/%2e%2e%2f%2e%2e%2f_lib/check.sh',
    '/lessons/03-copy-on-write/assets/..%5c..%5cpackage.json',
    '/lessons/03-copy-on-write/assets/overlay.svg%00.png',
    '/lessons/03-copy-on-write/assets/',
    '/lessons/01-namespaces/assets/lesson.md',
    '/lessons/..%2f..%2fpackage.json/assets/x',
    '/lessons/_lib/assets/check.sh',
  ]) {
    const res = await learner.fetch(path);
    expect(res.status, path).toBe(404);
    expect(await res.text(), path).not.toMatch(/ns_holders|overlay|"name": "boxlab"/);
  }
  expect((await learner.fetch('/lessons/01-namespaces')).status).toBe(200);
  expect((await learner.fetch('/lessons/no-such-lesson')).status).toBe(404);
});

it('answers bad requests with clear JSON errors', async () => {
  const learner = await server.learner();
  const cases: Array<[string, RequestInit, number, RegExp]> = [
    ['/api/lessons/no-such-lesson', {}, 404, /no lesson no-such-lesson/],
    ['/api/lessons/..%2f..%2fetc', {}, 404, /no lesson/],
    ['/api/lessons/01-namespaces/exercises/nope/check', { method: 'POST' }, 404, /no exercise nope/],
    ['/api/lessons/01-namespaces/exercises/uts/hints/extra', { method: 'POST' }, 404, /no such API/],
    ['/api/lessons/01-namespaces/reset', { method: 'POST', body: '{"confirm": tru' }, 400, /not valid JSON/],
    ['/api/lessons/01-namespaces/reset', { method: 'POST', body: JSON.stringify({ confirm: 'yes' }) }, 400, /confirm/],
    ['/api/lessons/01-namespaces/exercises/uts/solution', { method: 'POST', body: JSON.stringify({ confirm: true, pad: 'x'.repeat(10_000) }) }, 413, /too large/],
    ['/api/lessons/01-namespaces/exercises/uts/diagnose', { method: 'POST' }, 409, /start the lesson first/],
  ];
  for (const [path, init, status, message] of cases) {
    const res = await learner.fetch(path, init);
    expect(res.status, path).toBe(status);
    expect((await res.json()).error, path).toMatch(message);
  }
  // another site's page cannot act for the learner
  const forged = await learner.fetch('/api/lessons/01-namespaces/start', { method: 'POST', headers: { origin: 'http://evil.example' } });
  expect(forged.status).toBe(403);
  // nor listen in on them
  expect(await upgradeStatus(new WebSocket(`${server.url.replace('http', 'ws')}/ws/learner`, { headers: { cookie: learner.cookie, origin: 'http://evil.example' } }))).toBe(403);
  expect(await upgradeStatus(new WebSocket(`${server.url.replace('http', 'ws')}/ws/learner`, { headers: { origin: learner.origin } }))).toBe(401);
});

it('says which lessons this host cannot run and why, skips broken ones, and says so when the server is full', async () => {
  const labs = await fs.mkdtemp(path.join(os.tmpdir(), 'boxlab-labs-'));
  const lesson = (order: number, cgroup: string) => `---\ntitle: Needs cgroup ${cgroup}\nsummary: A lesson that runs on cgroup ${cgroup} hosts only.\norder: ${order}\ntime: 5 min\nrequires:\n  cgroup: ${cgroup}\n---\n\nIntro.\n\n## Exercise: Anything {#any}\n\nDo it.\n\n\`\`\`bash check\ntrue\n\`\`\`\n`;
  await fs.mkdir(path.join(labs, 'a-v1'));
  await fs.writeFile(path.join(labs, 'a-v1', 'lesson.md'), lesson(1, 'v1'));
  await fs.mkdir(path.join(labs, 'b-v2'));
  await fs.writeFile(path.join(labs, 'b-v2', 'lesson.md'), lesson(2, 'v2'));
  await fs.mkdir(path.join(labs, 'c-broken'));
  await fs.writeFile(path.join(labs, 'c-broken', 'lesson.md'), '---\ntitle: [unclosed\n---\n');
  const small = await startTestServer('lessons-host', { labsDir: labs, maxSandboxes: 1 });
  try {
    const learner = await small.learner();
    const { lessons } = await learner.json<CatalogueJson>('/api/lessons');
    expect(lessons.map((l) => l.id)).toEqual(['a-v1', 'b-v2']);
    const [unavailable, available] = lessons[0]!.unavailable ? [lessons[0]!, lessons[1]!] : [lessons[1]!, lessons[0]!];
    expect(available.unavailable).toBeUndefined();
    expect(unavailable.unavailable).toMatch(/^This lesson needs cgroup v[12], and this host runs cgroup v[12]\.$/);
    // what each needs is listed whether this host has it or not
    expect(lessons.map((l) => l.needs)).toEqual([['cgroup v1'], ['cgroup v2']]);
    const refused = await post(learner, `/api/lessons/${unavailable.id}/start`);
    expect(refused.status).toBe(409);
    expect((await refused.json()).error).toBe(unavailable.unavailable);

    // the one sandbox this server allows goes to the first learner; the next one waits in line, and is told where
    expect((await post(learner, `/api/lessons/${available.id}/start`)).status).toBe(200);
    const late = await post(await small.learner(), `/api/lessons/${available.id}/start`);
    expect(late.status).toBe(202);
    expect(await late.json()).toEqual({ queued: { position: 1 } });
  } finally {
    await small.close();
    await fs.rm(labs, { recursive: true, force: true });
    expect(await small.leftovers()).toEqual([]);
  }
});

it('keeps a learner to three lesson sandboxes, ending the least recently used one', async () => {
  const own = await startTestServer('lessons-lru', { maxSandboxes: 6 });
  try {
    const learner = await own.learner();
    const start = async (id: string) => ((await (await post(learner, `/api/lessons/${id}/start`)).json()) as { sandbox: { id: string } }).sandbox.id;
    const [first, second, third] = [await start('01-namespaces'), await start('02-cgroups'), await start('03-copy-on-write')];
    expect(await start('01-namespaces')).toBe(first); // resumed, and now the most recently used
    const fourth = await start('04-networking');
    expect([first, second, third, fourth].map((id) => own.sandboxes.has(id))).toEqual([true, false, true, true]);
    // the ended one's terminals are out of reach too
    expect((await post(learner, `/api/sandboxes/${second}/terminals`, { cols: 80, rows: 24 })).status).toBe(404);
    expect(own.ownership.sandboxesOf(learnerIdOf(learner)).sort()).toEqual([first, third, fourth].sort());
    // the player forgets the ended run (its progress stays in the store), the others it keeps
    expect(own.player.runState(learnerIdOf(learner), '02-cgroups')).toBeUndefined();
    expect(own.player.runState(learnerIdOf(learner), '03-copy-on-write')).toMatchObject({ step: 'ready', sandboxId: third });
    // coming back to it: a new sandbox, set up again
    const again = await start('02-cgroups');
    expect(again).not.toBe(second);
    expect((await learner.json<LessonJson>('/api/lessons/02-cgroups')).run).toMatchObject({ step: 'ready', sandbox: { id: again } });
  } finally {
    await own.close();
    expect(await own.leftovers()).toEqual([]);
  }
});

it('lets go of a lesson sandbox the same way however it ends: deleted, reaped, evicted or dead', async () => {
  const own = await startTestServer('lessons-endings', { maxSandboxes: 6 });
  try {
    const learner = await own.learner();
    const me = learnerIdOf(learner);
    const begin = async (lesson: string) => {
      const id = ((await (await post(learner, `/api/lessons/${lesson}/start`)).json()) as { sandbox: { id: string } }).sandbox.id;
      expect((await post(learner, `/api/sandboxes/${id}/terminals`, { cols: 80, rows: 24 })).status).toBe(201);
      return id;
    };
    const released = async (lesson: string, id: string) => {
      await expect.poll(() => own.terminals.list(id).length).toBe(0);
      expect(own.sandboxes.has(id)).toBe(false);
      expect(own.ownership.sandboxesOf(me)).not.toContain(id);
      expect(own.player.runState(me, lesson)).toBeUndefined();
      expect((await post(learner, `/api/sandboxes/${id}/terminals`, { cols: 80, rows: 24 })).status).toBe(404);
    };

    const deleted = await begin('01-namespaces');
    expect((await learner.fetch(`/api/sandboxes/${deleted}`, { method: 'DELETE' })).status).toBe(204);
    await released('01-namespaces', deleted);

    const reaped = await begin('02-cgroups');
    expect(await own.sandboxes.reapIdle(Date.now() + 24 * 3600_000)).toEqual([reaped]);
    await released('02-cgroups', reaped);

    // a fourth lesson ends the least recently used of three
    const [oldest] = [await begin('01-namespaces'), await begin('02-cgroups'), await begin('03-copy-on-write')];
    await begin('04-networking');
    await released('01-namespaces', oldest!);

    // every process of a sandbox killed from outside (as the OOM killer or an operator might): the driver notices
    const dead = own.ownership.sandboxesOf(me).find((id) => own.player.runState(me, '02-cgroups')?.sandboxId === id)!;
    for (const line of await processesIn(`/${own.instance}/${dead}/`)) process.kill(Number(/^process (\d+)/.exec(line)![1]), 'SIGKILL');
    await expect.poll(() => own.sandboxes.has(dead)).toBe(false);
    await released('02-cgroups', dead);
  } finally {
    await own.close();
    expect(await own.leftovers()).toEqual([]);
  }
});
