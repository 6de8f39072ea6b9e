// Terminals and their viewers over time: tabs, who types, flow control,
// falling behind, the grace period, and the command-settled event.
import { afterAll, beforeAll, expect, it } from 'vitest';
import headless from '@xterm/headless';
import type { CommandSettled } from '../../server/terminal/activity.js';
import { DEFAULT_FLOW } from '../../server/terminal/session.js';
import { startTestServer, type Learner, type SandboxJson, type TestServer } from '../helpers/server.js';
import { HeadlessClient, RawClient, until } from '../helpers/terminal-client.js';

// short, so that the grace period's own test is quick; long enough that a
// loaded machine's pauses fit in it where a test leaves and comes back in time
const GRACE_MS = 2000;
let server: TestServer;
let learner: Learner;
let box: SandboxJson;
const clients: Array<{ close(): void }> = [];

beforeAll(async () => {
  server = await startTestServer('sessions', { terminalGraceMs: GRACE_MS });
  learner = await server.learner();
  box = await learner.createSandbox();
});

afterAll(async () => {
  for (const c of clients) c.close();
  await server.close();
  expect(await server.leftovers()).toEqual([]);
});

function track<T extends { close(): void }>(client: T): T {
  clients.push(client);
  return client;
}

const input = (text: string) => ({ type: 'input' as const, data: new TextEncoder().encode(text) });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('runs several shells in one sandbox, up to a limit', async () => {
  const other = await learner.createSandbox();
  // each attached as soon as it exists: a terminal nobody attached to ends after
  // this file's short grace period, and making eight can take longer than that
  // on a loaded machine (then the ninth would not be refused, or a and b be gone)
  const shells: HeadlessClient[] = [];
  for (let i = 0; i < server.terminals.maxPerSandbox; i++) {
    const shell = track(new HeadlessClient(learner, (await learner.createTerminal(other.id)).id));
    await shell.waitStatus('live');
    shells.push(shell);
  }
  expect(server.terminals.list(other.id)).toHaveLength(8);
  const refused = await learner.fetch(`/api/sandboxes/${other.id}/terminals`, { method: 'POST', body: '{}' });
  expect(refused.status).toBe(409);
  expect(await refused.json()).toEqual({ error: 'a sandbox has at most 8 terminals; close one first' });
  const [a, b] = [shells[0]!, shells[1]!];
  await Promise.all([a.waitPrompt(), b.waitPrompt()]);
  a.type('echo shell-$$ > /tmp/from-a; echo written\r');
  await a.waitFor(/^written$/m);
  b.type('cat /tmp/from-a; echo shell-$$\r');
  const text = await b.waitFor(/^shell-\d+\nshell-\d+$/m);
  const [fromA, own] = /^(shell-\d+)\n(shell-\d+)$/m.exec(text)!.slice(1);
  expect(fromA).not.toBe(own); // two shells, one filesystem
  const listed = await learner.json<{ sandboxes: SandboxJson[] }>('/api/sandboxes');
  expect(listed.sandboxes.find((s) => s.id === other.id)!.terminals.map((t) => t.id).sort()).toEqual(shells.map((s) => s.terminalId).sort());
  for (const shell of shells) shell.close();
  await learner.json(`/api/sandboxes/${other.id}`, { method: 'DELETE' });
  expect(server.terminals.list(other.id)).toEqual([]);
});

it('lets one viewer type at a time, and moves the keyboard on request', async () => {
  const id = (await learner.createTerminal(box.id)).id;
  const first = track(new HeadlessClient(learner, id));
  await first.waitPrompt();
  expect(first.link.role).toBe('writer');
  // the same learner in a second tab takes the keyboard
  const second = track(new HeadlessClient(learner, id));
  await second.waitStatus('live');
  expect(second.link.role).toBe('writer');
  await until(() => first.link.role === 'viewer', 5000, () => 'the first tab kept the keyboard');
  expect(first.link.input('x')).toBe(false);
  second.type('echo from-second\r');
  await first.waitFor(/^from-second$/m); // and the first tab watches
  first.link.take();
  await until(() => first.link.role === 'writer' && second.link.role === 'viewer', 5000, () => 'take did not move the keyboard');
  // the server side can give it to nobody (an instructor's "hands off" later builds on this)
  const session = server.terminals.get(id)!;
  session.grantWriter(undefined);
  await until(() => first.link.role === 'viewer', 5000, () => 'grantWriter(undefined) did not take the keyboard away');
  expect(session.writer).toBeUndefined();
  session.grantWriter(session.viewerList.find((v) => v.state === 'live'));
  await until(() => first.link.role === 'writer' || second.link.role === 'writer', 5000, () => 'grantWriter did not give it back');
  first.close();
  second.close();
});

it('gives the keyboard back to whoever typed before, when the one who took it leaves', async () => {
  const id = (await learner.createTerminal(box.id)).id;
  const owner = track(new HeadlessClient(learner, id));
  await owner.waitPrompt();
  const taker = track(new HeadlessClient(learner, id)); // an instructor's takeover takes it the same way
  await until(() => taker.link.role === 'writer' && owner.link.role === 'viewer', 5000, () => 'the second client did not take the keyboard');
  taker.close();
  await until(() => owner.link.role === 'writer', 5000, () => 'the keyboard stayed with nobody after the taker left');
  owner.type('echo back-$((20+1))\r');
  await owner.waitFor(/^back-21$/m);
  owner.close();
});

it('pauses the shell while its writer has not acknowledged enough output, and resumes when it does', async () => {
  const id = (await learner.createTerminal(box.id)).id;
  const session = server.terminals.get(id)!;
  const raw = track(await RawClient.attach(learner, id, {}, false));
  raw.send(input('yes\r'));
  await until(() => session.isPaused, 10_000, () => 'never paused');
  await sleep(300);
  const held = raw.received;
  // at most the high watermark, one batch and a pty read beyond it
  expect(held).toBeLessThan(DEFAULT_FLOW.high + DEFAULT_FLOW.maxBatch + 128 * 1024);
  await sleep(300);
  expect(raw.received).toBe(held);
  raw.send({ type: 'ack', bytes: held });
  await until(() => raw.received > held + DEFAULT_FLOW.high, 10_000, () => 'output did not resume after the ack');
  raw.send(input('\x03'));
  raw.close();
  await learner.json(`/api/terminals/${id}`, { method: 'DELETE' });
});

it('keeps a slow watcher from holding up the writer, then resyncs it with a snapshot', async () => {
  const id = (await learner.createTerminal(box.id)).id;
  const writer = track(new HeadlessClient(learner, id));
  await writer.waitPrompt();
  const slow = track(await RawClient.attach(learner, id, { role: 'viewer' }, false)); // never acknowledges
  await slow.next('snapshot'); // the screen it joins with (it may come after 'attached')
  const snapshotsBefore = slow.messages.filter((m) => m.type === 'snapshot').length;
  writer.type('seq 1 1500000; echo FLOOD-DONE\r');
  await writer.waitFor(/^FLOOD-DONE$/m, 60_000); // ~10 MB went through while the watcher took none of it
  const stuckAt = slow.received;
  expect(stuckAt).toBeLessThan(DEFAULT_FLOW.viewerLag + 2 * DEFAULT_FLOW.maxBatch + 128 * 1024);
  expect(server.terminals.get(id)!.outputOffset).toBeGreaterThan(9_000_000);
  // the watcher catches up with what it was sent, and gets the present as a snapshot
  const from = slow.messages.length;
  slow.send({ type: 'ack', bytes: stuckAt });
  const snapshot = await slow.next('snapshot', 10_000, from);
  expect(slow.messages.filter((m) => m.type === 'snapshot').length).toBe(snapshotsBefore + 1);
  const screen = new headless.Terminal({ cols: snapshot.cols, rows: snapshot.rows, allowProposedApi: true });
  await new Promise<void>((resolve) => screen.write(snapshot.data, resolve));
  const rows = Array.from({ length: screen.rows }, (_, i) => screen.buffer.active.getLine(screen.buffer.active.viewportY + i)!.translateToString(true));
  expect(rows.join('\n')).toMatch(/^1500000\nFLOOD-DONE\n/m);
  expect(snapshot.offset).toBe(server.terminals.get(id)!.outputOffset);
  screen.dispose();
  writer.close();
  slow.close();
});

it('keeps a shell running while nobody watches, its output drained into the mirror', async () => {
  const id = (await learner.createTerminal(box.id)).id;
  const session = server.terminals.get(id)!;
  const raw = track(await RawClient.attach(learner, id));
  raw.send(input('for i in $(seq 1 20); do seq 1 20000; sleep 0.05; done; echo DETACHED-DONE\r'));
  await until(() => raw.received > 1000, 5000, () => 'no output');
  raw.close();
  await until(() => session.viewerList.length === 0, 5000, () => 'the viewer did not leave');
  const offsetThen = session.outputOffset;
  let mirrorPeak = 0;
  const watch = setInterval(() => (mirrorPeak = Math.max(mirrorPeak, session.mirrorBacklog)), 5);
  // it goes on producing, into the mirror
  await until(() => session.outputOffset > offsetThen && mirrorPeak > 0, 10_000, () => `no output since the viewer left (mirror backlog peak ${mirrorPeak})`);
  await sleep(400);
  clearInterval(watch);
  expect(mirrorPeak).toBeLessThanOrEqual(DEFAULT_FLOW.mirrorHigh + DEFAULT_FLOW.maxBatch + 128 * 1024);
  // back within the grace period: the same shell, and the screen it has now
  const back = track(new HeadlessClient(learner, id));
  await back.waitFor(/^DETACHED-DONE$/m, 20_000);
  back.close();
});

it('ends a terminal nobody attached to for the grace period, and not one that came back in time', async () => {
  const idle = (await learner.createTerminal(box.id)).id;
  const kept = (await learner.createTerminal(box.id)).id;
  const keeper = track(new HeadlessClient(learner, kept));
  await keeper.waitPrompt();
  await sleep(GRACE_MS + 600);
  // ending it (SIGHUP, the shell's exit) takes a moment more on a loaded machine
  await until(() => server.terminals.get(idle) === undefined, 5000, () => 'the terminal nobody attached to lived on');
  expect((await learner.fetch(`/api/terminals/${idle}`)).status).toBe(404);
  expect(server.terminals.get(kept)?.isEnded).toBe(false);
  keeper.close();
  await until(() => server.terminals.get(kept) === undefined, GRACE_MS + 5000, () => 'the abandoned terminal lived on');
});

it('tells subscribers when a command has settled, from the terminal traffic alone', async () => {
  const id = (await learner.createTerminal(box.id)).id;
  const client = track(new HeadlessClient(learner, id));
  await client.waitPrompt();
  const events: Array<CommandSettled & { seen: string }> = [];
  server.terminals.get(id)!.onCommandSettled((e) => events.push({ ...e, seen: client.text() }));
  for (const c of 'echo settled') {
    client.type(c);
    await sleep(30);
  }
  await sleep(300);
  expect(events).toEqual([]); // typing is not a command
  client.type('\r');
  await until(() => events.length === 1, 5000, () => 'no event after echo');
  await client.waitFor(/^settled$/m);
  // a command that runs a while: one event when its quiet start settles, one when its prompt comes
  client.type('sleep 0.6; echo woke\r');
  await until(() => events.length === 3, 5000, () => `${events.length} events`);
  expect(events[1]!.afterKey).toBe(true);
  expect(events[2]!.afterKey).toBe(false);
  await client.waitFor(/^woke$/m);
  client.close();
});
