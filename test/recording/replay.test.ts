// Recordings through a real server: a lesson terminal's recording replays to
// exactly the screen its learner saw (a headless xterm fed the .cast against
// the live mirror's snapshot, as a reattaching client gets it); the timeline
// holds the commands and what the check then said; and only the learner, or
// the instructor through a workshop the learner is in, ever gets it (real
// HTTP, real cookies).
import headless from '@xterm/headless';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RecordingJson, ReplayJson } from '../../server/contracts/recordings.js';
import WebSocket from 'ws';
import { HeadlessClient, until } from '../helpers/terminal-client.js';
import { Learner, startTestServer, type TestServer } from '../helpers/server.js';

const { Terminal } = headless;
const SECRET = 'recordings secret';
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer('recordings', { maxSandboxes: 4, instructorSecret: SECRET, recording: { mode: 'all' } });
});

afterAll(async () => {
  await server?.close();
  expect(await server.leftovers()).toEqual([]);
});

const post = (who: Learner, path: string, body: unknown = {}) => who.fetch(path, { method: 'POST', body: JSON.stringify(body) });

async function instructor(): Promise<Learner> {
  const browser = await server.learner();
  const res = await post(browser, '/api/instructor/login', { secret: SECRET });
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('boxlab_instructor='))!;
  return Learner.withCookie(server.url, `${browser.cookie}; ${cookie.split(';')[0]}`);
}

/** A learner in the lesson, with a terminal of its sandbox open and a prompt on it. */
async function inLesson(learner: Learner, cols = 80, rows = 24): Promise<{ client: HeadlessClient; terminalId: string }> {
  const started = (await (await post(learner, '/api/lessons/01-namespaces/start')).json()) as { sandbox: { id: string } };
  const terminal = await learner.createTerminal(started.sandbox.id, { cols, rows });
  const client = new HeadlessClient(learner, terminal.id, { cols, rows });
  await client.waitStatus('live');
  await client.waitPrompt();
  return { client, terminalId: terminal.id };
}

/** A headless xterm's whole buffer and cursor. */
function screenOf(term: InstanceType<typeof Terminal>): { lines: string[]; cursor: [number, number]; size: [number, number] } {
  const b = term.buffer.active;
  const lines: string[] = [];
  for (let i = 0; i < b.length; i++) lines.push(b.getLine(i)?.translateToString(true) ?? '');
  while (lines.length && lines.at(-1) === '') lines.pop();
  return { lines, cursor: [b.cursorX, b.cursorY], size: [term.cols, term.rows] };
}

const write = (term: InstanceType<typeof Terminal>, data: string) => new Promise<void>((resolve) => term.write(data, resolve));

async function recordingOf(learner: Learner, terminalId: string): Promise<RecordingJson> {
  const { recordings } = await learner.json<{ recordings: RecordingJson[] }>('/api/me/recordings');
  const found = recordings.find((r) => r.terminalId === terminalId);
  if (!found) throw new Error(`no recording of ${terminalId}: ${JSON.stringify(recordings)}`);
  return found;
}

it('replays a recorded terminal to exactly the screen the mirror holds, in a .cast that keeps the asciicast v2 rules', async () => {
  const alice = await server.learner();
  const { client, terminalId } = await inLesson(alice, 90, 20);
  // a flood (of which the recording keeps what the mirror did), colours, a full-screen scroll into
  // the scrollback, a resize and a line redrawn in place
  client.type("seq 1 200000; printf '\\e[1;31mred\\e[0m plain\\n'; seq 1 60; printf 'abc\\rX\\n'; echo 'ünïcødé €'\r");
  await client.waitFor(/ünïcødé €\n.*# ?$/);
  client.link.resize(100, 25);
  client.type('tput cols; tput lines\r');
  await client.waitFor(/^100\n25\n/m);
  await client.waitPrompt();
  await new Promise((r) => setTimeout(r, 300));

  // the mirror's snapshot, as a client attaching now gets it
  const viewer = new HeadlessClient(alice, terminalId, { cols: 100, rows: 25, role: 'viewer' });
  await viewer.waitStatus('live');
  await viewer.waitPrompt();
  const live = screenOf(viewer.term);
  viewer.close();

  const rec = await recordingOf(alice, terminalId);
  const res = await alice.fetch(`/api/me/recordings/${rec.id}/cast`);
  expect(res.status).toBe(200);
  const text = await res.text();
  const [headerLine, ...eventLines] = text.trimEnd().split('\n');
  const header = JSON.parse(headerLine!) as { version: number; width: number; height: number; timestamp: number };
  expect(header).toMatchObject({ version: 2, width: 90, height: 20 });
  expect(Number.isInteger(header.timestamp) && Math.abs(header.timestamp * 1000 - rec.startedAt) < 2000).toBe(true);
  const events = eventLines.map((l) => JSON.parse(l) as [number, string, string]);
  let last = 0;
  for (const e of events) {
    expect(e).toHaveLength(3);
    expect(typeof e[0]).toBe('number');
    expect(['o', 'i', 'r', 'm']).toContain(e[1]);
    expect(typeof e[2]).toBe('string');
    expect(e[0]).toBeGreaterThanOrEqual(last);
    last = e[0];
  }
  expect(events.filter((e) => e[1] === 'r').map((e) => e[2])).toEqual(['100x25']);
  expect(events.filter((e) => e[1] === 'i').map((e) => e[2]).join('')).toContain('tput cols; tput lines\r');

  // replayed: every output event into a fresh terminal of the header's size, resizes as they come
  const replay = new Terminal({ cols: header.width, rows: header.height, scrollback: 1000, allowProposedApi: true });
  for (const [, code, data] of events) {
    if (code === 'o') await write(replay, data);
    else if (code === 'r') {
      const [cols, rows] = data.split('x').map(Number);
      replay.resize(cols!, rows!);
    }
  }
  expect(screenOf(replay)).toEqual(live);
  expect(live.lines.join('\n')).toContain('ünïcødé €');
  replay.dispose();

  // the download is the same plain text, as an attachment
  const download = await alice.fetch(`/api/me/recordings/${rec.id}/cast?download`);
  expect(download.headers.get('content-disposition')).toMatch(/^attachment; filename=".*\.cast"$/);
  expect(download.headers.get('content-encoding')).toBeNull();
  expect((await download.text()).startsWith(headerLine!)).toBe(true);
  client.close();
});

it('keeps what the learner typed and what the check said next, as markers on the replay', async () => {
  const bob = await server.learner();
  const { client, terminalId } = await inLesson(bob);
  client.type('hostname\r');
  await client.waitPrompt();
  await new Promise((r) => setTimeout(r, 400));
  const failed = (await (await post(bob, '/api/lessons/01-namespaces/exercises/uts/check')).json()) as { passed: boolean; reason: string };
  expect(failed.passed).toBe(false);
  await post(bob, '/api/lessons/01-namespaces/exercises/uts/hints');
  const rec = await recordingOf(bob, terminalId);
  const replay = await bob.json<ReplayJson>(`/api/me/recordings/${rec.id}`);
  const command = replay.commands.find((c) => c.line === 'hostname');
  expect(command?.verdict).toMatchObject({ exerciseId: 'uts', status: 'failed', reason: failed.reason });
  expect(command!.time).toBeGreaterThan(0);
  const marker = replay.markers.find((m) => m.entry.kind === 'check' && m.entry.status === 'failed' && m.entry.reason === failed.reason);
  expect(marker?.label).toContain(failed.reason);
  expect(marker!.time).toBeGreaterThan(command!.time);
  expect(replay.markers.some((m) => m.entry.kind === 'hint')).toBe(true);
  expect(replay.cast).toBe(`/api/me/recordings/${rec.id}/cast`);
  client.close();
});

it("never gives one learner another's recording, and the instructor only their workshop members'", async () => {
  const alice = await server.learner();
  const mallory = await server.learner();
  const teacher = await instructor();
  const w = (await (await post(teacher, '/api/instructor/workshops', { name: 'class', lessons: ['01-namespaces'], capacity: 10 })).json()) as { id: string; code: string };
  const other = (await (await post(teacher, '/api/instructor/workshops', { name: 'other class', lessons: ['01-namespaces'], capacity: 10 })).json()) as { id: string; code: string };
  expect((await post(alice, '/api/join', { code: w.code, name: 'Alice' })).status).toBe(201);
  expect((await post(mallory, '/api/join', { code: other.code, name: 'Mallory' })).status).toBe(201);
  const { client, terminalId } = await inLesson(alice);
  client.type('echo secret-of-alice\r');
  await client.waitFor(/^secret-of-alice$/m);
  const rec = await recordingOf(alice, terminalId);
  const mine = [`/api/me/recordings/${rec.id}`, `/api/me/recordings/${rec.id}/cast`, `/api/me/recordings/${rec.id}/cast?download`];
  for (const url of mine) expect((await alice.fetch(url)).status, url).toBe(200);
  // another learner: not found, whichever way they ask, and their list does not have it
  for (const url of mine) expect((await mallory.fetch(url)).status, url).toBe(404);
  expect((await mallory.fetch(`/api/me/recordings/${rec.id}`, { method: 'DELETE' })).status).toBe(404);
  expect((await mallory.json<{ recordings: RecordingJson[] }>('/api/me/recordings')).recordings.map((r) => r.id)).not.toContain(rec.id);
  expect(JSON.stringify(await mallory.json('/api/me/recordings/commands'))).not.toContain('secret-of-alice');
  // a learner cookie with the instructor's path: the instructor session is what it takes
  const members = (id: string) => server.workshops.store.members(id);
  const aliceLearner = members(w.id).find((m) => m.name === 'Alice')!.learnerId;
  const malloryLearner = members(other.id).find((m) => m.name === 'Mallory')!.learnerId;
  const theirs = (wid: string, learner: string) => `/api/instructor/workshops/${wid}/learners/${learner}/recordings`;
  expect((await alice.fetch(theirs(w.id, aliceLearner))).status).toBe(401);
  expect((await mallory.fetch(`${theirs(w.id, aliceLearner)}/${rec.id}/cast`)).status).toBe(401);
  // the instructor, through Alice's workshop: yes
  expect((await teacher.json<{ recordings: RecordingJson[] }>(theirs(w.id, aliceLearner))).recordings.map((r) => r.id)).toContain(rec.id);
  const replay = await teacher.json<ReplayJson>(`${theirs(w.id, aliceLearner)}/${rec.id}`);
  const cast = await teacher.fetch(replay.cast);
  expect(cast.status).toBe(200);
  expect(await cast.text()).toContain('secret-of-alice');
  expect((await teacher.json<{ commands: Array<{ line: string }> }>(`${theirs(w.id, aliceLearner)}/commands`)).commands.map((c) => c.line)).toContain('echo secret-of-alice');
  // through a workshop Alice is not in, or naming another learner: not found
  expect((await teacher.fetch(theirs(other.id, aliceLearner))).status).toBe(404);
  expect((await teacher.fetch(`${theirs(other.id, aliceLearner)}/${rec.id}/cast`)).status).toBe(404);
  expect((await teacher.fetch(`${theirs(other.id, malloryLearner)}/${rec.id}/cast`)).status).toBe(404);
  expect((await teacher.fetch(`${theirs(other.id, malloryLearner)}/${rec.id}`)).status).toBe(404);
  // the workshop's export has her commands (and nobody else's workshop's)
  const exported = await teacher.json<{ commands: Array<{ learner: string; line: string }> }>(`/api/instructor/workshops/${w.id}/export.json`);
  expect(exported.commands).toContainEqual(expect.objectContaining({ learner: 'Alice', line: 'echo secret-of-alice' }));
  expect((await teacher.json<{ commands: unknown[] }>(`/api/instructor/workshops/${other.id}/export.json`)).commands).toEqual([]);
  const csv = await (await teacher.fetch(`/api/instructor/workshops/${w.id}/commands.csv`)).text();
  expect(csv.split('\r\n')[0]).toBe('learner,lesson,at,command,exercise,verdict,reason');
  expect(csv).toContain('echo secret-of-alice');
  // the learner deletes it: gone for everyone, file and all
  expect((await alice.fetch(`/api/me/recordings/${rec.id}`, { method: 'DELETE' })).status).toBe(204);
  expect((await alice.fetch(`/api/me/recordings/${rec.id}/cast`)).status).toBe(404);
  expect((await teacher.fetch(`${theirs(w.id, aliceLearner)}/${rec.id}/cast`)).status).toBe(404);
  client.close();
});

it("puts the instructor's message and takeover on the replay's timeline, as markers at their moments", async () => {
  const teacher = await instructor();
  const w = (await (await post(teacher, '/api/instructor/workshops', { name: 'marks', lessons: ['01-namespaces'], capacity: 5 })).json()) as { id: string; code: string };
  const carol = await server.learner();
  expect((await post(carol, '/api/join', { code: w.code, name: 'Carol' })).status).toBe(201);
  const carolId = server.workshops.store.members(w.id).find((m) => m.name === 'Carol')!.learnerId;
  const { client, terminalId } = await inLesson(carol);
  client.type('echo before-help\r');
  await client.waitFor(/^before-help$/m);
  await new Promise((r) => setTimeout(r, 200));
  expect(await (await post(teacher, `/api/instructor/workshops/${w.id}/messages`, { text: 'try unshare --uts', to: carolId })).json()).toEqual({ sent: 1 });
  await new Promise((r) => setTimeout(r, 200));
  // the instructor takes the keyboard over the real socket, types, and gives it back
  const listed = await teacher.json<{ terminals: Array<{ id: string; socket: string }> }>(`/api/instructor/workshops/${w.id}/learners/${carolId}/terminals`);
  const socket = listed.terminals.find((t) => t.id === terminalId)!.socket;
  const take = new WebSocket(`${server.url.replace('http', 'ws')}${socket}?takeover=1`, { headers: { cookie: teacher.cookie, origin: server.url } });
  await new Promise((resolve, reject) => {
    take.once('open', resolve);
    take.once('error', reject);
  });
  await new Promise((r) => setTimeout(r, 300));
  take.close();
  await new Promise((resolve) => take.once('close', resolve));
  await until(() => server.recordings.store.timeline(carolId).some((e) => e.kind === 'takeover' && e.status === 'off'), 5000, () => 'no takeover end on the timeline');
  client.type('echo after-help\r');
  await client.waitFor(/^after-help$/m);

  const rec = await recordingOf(carol, terminalId);
  for (const replay of [await carol.json<ReplayJson>(`/api/me/recordings/${rec.id}`), await teacher.json<ReplayJson>(`/api/instructor/workshops/${w.id}/learners/${carolId}/recordings/${rec.id}`)]) {
    const kinds = replay.markers.map((m) => [m.entry.kind, m.label]);
    expect(kinds).toEqual(expect.arrayContaining([['message', 'message: try unshare --uts'], ['takeover', 'instructor took over'], ['takeover', 'instructor gave back']]));
    const at = (pred: (m: ReplayJson['markers'][number]) => boolean) => replay.markers.find(pred)!.time;
    const message = at((m) => m.entry.kind === 'message');
    const on = at((m) => m.entry.kind === 'takeover' && m.entry.status === 'on');
    const off = at((m) => m.entry.kind === 'takeover' && m.entry.status === 'off');
    const before = replay.commands.find((c) => c.line === 'echo before-help')!.time;
    expect(before).toBeLessThan(message);
    expect(message).toBeLessThan(on);
    expect(on).toBeLessThan(off);
  }
  client.close();
});
