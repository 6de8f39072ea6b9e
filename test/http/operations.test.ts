// What an operator and an idle learner see: /metrics for the instructor only,
// and a warning, with a way to keep it, before an idle sandbox is reaped.
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { RawClient, until } from '../helpers/terminal-client.js';

const FIXTURES = path.join(PACKAGE_ROOT, 'test/fixtures/labs');
let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  expect(await server!.leftovers()).toEqual([]);
  server = undefined;
});

it('serves /metrics in the Prometheus format to the instructor, and to nobody else', async () => {
  server = await startTestServer('metrics', { instructorSecret: 'the-secret-of-this-test', maxSandboxes: 5, labsDir: FIXTURES });
  const learner = await server.learner();
  await learner.json('/api/lessons/01-basics/start', { method: 'POST' });
  await learner.json('/api/lessons/01-basics/exercises/greet/check', { method: 'POST' });
  expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
  expect((await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
  const res = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer the-secret-of-this-test' } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  expect(text).toMatch(/^boxlab_sandboxes\{state="running"\} 1$/m);
  expect(text).toMatch(/^boxlab_sandboxes\{state="capacity"\} 5$/m);
  expect(text).toMatch(/^boxlab_sandboxes\{state="waiting"\} 0$/m);
  expect(text).toMatch(/^boxlab_check_duration_seconds_count\{kind="check",outcome="failed"\} [1-9]/m);
  expect(text).toMatch(/^boxlab_sandbox_memory_bytes\{of="sum"\} [1-9]/m);
  expect(text).toMatch(/^boxlab_process_nodejs_eventloop_lag_seconds /m);
  expect(text).toMatch(/^boxlab_connections \d+$/m);
});

it('warns a learner before their idle sandbox is reaped, keeps it when they ask, and reaps it when nobody does', async () => {
  server = await startTestServer('idle', { idleTimeoutMs: 4000, labsDir: FIXTURES });
  const learner = await server.learner();
  const { sandbox } = await learner.json<{ sandbox: { id: string } }>('/api/lessons/01-basics/start', { method: 'POST' });
  const channel = learner.channel();
  const warnings: number[] = [];
  channel.on('message', (data: Buffer) => {
    const m = JSON.parse(data.toString()) as { update?: { type: string; inMs?: number } };
    if (m.update?.type === 'idle') warnings.push(Date.now());
  });
  await new Promise((resolve, reject) => channel.once('open', resolve).once('error', reject));
  try {
    await until(() => warnings.length === 1, 6000, () => 'no idle warning');
    expect(server.sandboxes.has(sandbox.id)).toBe(true);
    expect((await learner.fetch('/api/lessons/01-basics/keep', { method: 'POST' })).status).toBe(204);
    // past the deadline it had before the learner kept it
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(server.sandboxes.has(sandbox.id)).toBe(true);
    // warned again, and this time nobody answers
    await until(() => warnings.length === 2, 6000, () => 'no second idle warning');
    await until(() => !server!.sandboxes.has(sandbox.id), 6000, () => 'the idle sandbox was not reaped');
  } finally {
    channel.close();
  }
}, 30_000);

it('counts what a terminal prints as the learner using their sandbox', async () => {
  server = await startTestServer('busy', { idleTimeoutMs: 3000 });
  const learner = await server.learner();
  const box = await learner.createSandbox();
  const term = await learner.createTerminal(box.id);
  const client = await RawClient.attach(learner, term.id);
  try {
    client.send({ type: 'input', data: Buffer.from('while :; do echo tick; sleep 0.5; done\r') });
    // twice the idle timeout, no key pressed
    await new Promise((resolve) => setTimeout(resolve, 6500));
    expect(server.sandboxes.has(box.id)).toBe(true);
  } finally {
    client.close();
  }
}, 20_000);
