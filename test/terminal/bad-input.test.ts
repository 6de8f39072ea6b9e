// What a broken or hostile client may send: each gets a clear error or a closed
// connection, never a crash, and the terminal (and every other) goes on.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { encodeClient } from '../../server/terminal/protocol.js';
import { startTestServer, upgradeStatus, type Learner, type SandboxJson, type TestServer } from '../helpers/server.js';
import { HeadlessClient, RawClient, until } from '../helpers/terminal-client.js';

let server: TestServer;
let learner: Learner;
let box: SandboxJson;
let termId: string;

beforeAll(async () => {
  server = await startTestServer('badinput');
  learner = await server.learner();
  box = await learner.createSandbox();
  termId = (await learner.createTerminal(box.id)).id;
});

afterAll(async () => {
  await server.close();
  expect(await server.leftovers()).toEqual([]);
});

/** The terminal still answers, at the size it had. */
async function stillWorks(id = termId): Promise<void> {
  const client = new HeadlessClient(learner, id);
  try {
    await client.waitStatus('live');
    client.type('stty size; echo ok-$((40+2))\r');
    await client.waitFor(/^24 80\nok-42$/m);
  } finally {
    client.close();
  }
}

it('closes a connection that sends a frame over the size limit (1009), and the terminal goes on', async () => {
  const raw = await RawClient.attach(learner, termId);
  raw.sendRaw(new Uint8Array(70_000)); // an input frame carries at most 64 KiB
  expect((await raw.closed).code).toBe(1009);
  await stillWorks();
});

it('answers unknown frame and message types with an error and keeps the connection', async () => {
  const raw = await RawClient.attach(learner, termId);
  raw.sendRaw(Uint8Array.of(0x09, 1, 2, 3));
  raw.sendRaw(new TextEncoder().encode('{"type":"dance"}'));
  await until(() => raw.errors().length === 2, 5000, () => `errors: ${raw.errors().join('; ')}`);
  expect(raw.errors()).toEqual(['unknown-type: unknown frame type 0x09', 'unknown-type: unknown control message "dance"']);
  raw.send({ type: 'input', data: new TextEncoder().encode('echo alive\r') });
  await until(() => /\ralive\r\n/.test(raw.output()), 5000, () => raw.output());
  raw.close();
});

it('refuses a resize to 0 or 100000 columns and keeps the old size', async () => {
  const raw = await RawClient.attach(learner, termId);
  raw.send({ type: 'resize', cols: 0, rows: 24 });
  raw.send({ type: 'resize', cols: 65535, rows: 24 }); // as far as 16 bits go
  raw.sendRaw(new TextEncoder().encode('{"type":"hello","cols":100000,"rows":24}'));
  await until(() => raw.errors().length >= 2, 5000, () => raw.errors().join('; '));
  expect(raw.errors().slice(0, 2)).toEqual([
    'bad-size: a terminal is 2 to 500 columns and 1 to 200 rows, not 0x24',
    'bad-size: a terminal is 2 to 500 columns and 1 to 200 rows, not 65535x24',
  ]);
  expect((await raw.closed).code).toBe(1002); // a second hello is a protocol error
  expect(server.terminals.get(termId)!.cols).toBe(80);
  // a first hello with an impossible size is refused outright
  const second = new RawClient(learner.socket(termId));
  await second.opened;
  second.sendRaw(new TextEncoder().encode('{"type":"hello","cols":100000,"rows":24}'));
  expect((await second.closed).code).toBe(1008);
  expect(second.errors()).toEqual(['bad-size: a terminal is 2 to 500 columns and 1 to 200 rows, not 100000x24']);
  await stillWorks();
});

it('closes connections that break the protocol: text frames, input before hello, acknowledging unsent output', async () => {
  const text = new RawClient(learner.socket(termId));
  await text.opened;
  text.sendRaw('{"type":"hello","cols":80,"rows":24}', false);
  expect((await text.closed).code).toBe(1003);
  expect(text.errors()[0]).toMatch(/text frames are not part of the terminal protocol/);

  const early = new RawClient(learner.socket(termId));
  await early.opened;
  early.send({ type: 'input', data: new TextEncoder().encode('reboot\r') });
  expect((await early.closed).code).toBe(1002);
  expect(early.errors()).toEqual(['not-attached: the first message must be hello']);

  const liar = await RawClient.attach(learner, termId, {}, false);
  liar.send({ type: 'ack', bytes: 1_000_000_000 });
  expect((await liar.closed).code).toBe(1008);
  expect(liar.errors()[0]).toMatch(/acknowledged 1000000000 bytes but only \d+ were unacknowledged/);
  await stillWorks();
});

it('refuses input to a terminal that has ended, and never resizes or writes a dead pty', async () => {
  const id = (await learner.createTerminal(box.id)).id;
  const session = server.terminals.get(id)!;
  const raw = await RawClient.attach(learner, id);
  const viewer = session.viewerList[0]!;
  raw.send({ type: 'input', data: new TextEncoder().encode('exit 7\r') });
  const exit = await raw.next('exit');
  expect(exit).toEqual({ type: 'exit', code: 7 });
  expect((await raw.closed).code).toBe(1000);
  // what a late frame would do, straight at the session: refused, no EBADF
  expect(() => session.input(viewer, Uint8Array.of(0x61))).toThrow('this terminal has ended');
  expect(() => session.resize(viewer, 100, 30)).toThrow('this terminal has ended');
  // and over the wire: the terminal is gone
  expect(await upgradeStatus(learner.socket(id))).toBe(404);
});

it('refuses WebSocket upgrades from another site, without a cookie, or to someone else\'s terminal', async () => {
  expect(await upgradeStatus(learner.socket(termId))).toBe(101);
  expect(await upgradeStatus(learner.socket(termId, { origin: 'http://evil.example' }))).toBe(403);
  expect(await upgradeStatus(learner.socket(termId, { origin: 'null' }))).toBe(403);
  expect(await upgradeStatus(learner.socket(termId, { origin: '' }))).toBe(403);
  expect(await upgradeStatus(learner.socket(termId, { host: 'attacker.example' }))).toBe(421);
  expect(await upgradeStatus(learner.socket(termId, { cookie: '' }))).toBe(401);
  const forged = learner.cookie.replace(/=(.)/, (_, c: string) => `=${c === 'A' ? 'B' : 'A'}`);
  expect(await upgradeStatus(learner.socket(termId, { cookie: forged }))).toBe(401);
  const stranger = await server.learner();
  expect(await upgradeStatus(stranger.socket(termId))).toBe(404);
  expect((await stranger.fetch(`/api/terminals/${termId}`)).status).toBe(404);
  expect((await stranger.fetch(`/api/terminals/${termId}`, { method: 'DELETE' })).status).toBe(404);
  expect((await stranger.fetch(`/api/sandboxes/${box.id}/terminals`, { method: 'POST', body: '{}' })).status).toBe(404);
  expect(await upgradeStatus(learner.socket('term-doesnotexist'))).toBe(404);
  await stillWorks();
});

it('lets a watcher see but not type', async () => {
  const raw = await RawClient.attach(learner, termId, { role: 'viewer' });
  expect(raw.messages[0]).toMatchObject({ type: 'attached', role: 'viewer' });
  raw.sendRaw(encodeClient({ type: 'input', data: new TextEncoder().encode('touch /tmp/x\r') }));
  raw.send({ type: 'resize', cols: 100, rows: 30 });
  await until(() => raw.errors().length === 2, 5000, () => raw.errors().join('; '));
  expect(raw.errors()).toEqual([
    'read-only: someone else is typing in this terminal; you are watching',
    'read-only: only the viewer who types may resize the terminal',
  ]);
  raw.close();
});
