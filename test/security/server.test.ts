// The server's own walls, tried as a hostile visitor would, over real sockets
// on loopback only, each attack bounded: a web page elsewhere must never reach
// it (DNS rebinding), and one client must never take it from everyone else
// (sandboxes, connections, join codes). Several clients are several loopback
// addresses (127.0.0.2, 127.0.0.3...), as several machines behind one room's
// network would be.
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { Learner, startTestServer, type TestServer } from '../helpers/server.js';
import { RawClient, until } from '../helpers/terminal-client.js';

const FIXTURES = path.join(PACKAGE_ROOT, 'test/fixtures/labs');
const stops: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function server(overrides: Parameters<typeof startTestServer>[1] = {}): Promise<TestServer> {
  const s = await startTestServer('walls', overrides);
  stops.push(async () => {
    await s.close();
    expect(await s.leftovers()).toEqual([]);
  });
  return s;
}

/** A request with exactly these headers (fetch() would not send a Host of our choosing). */
function raw(url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, setHost: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('Host and Origin', () => {
  it('refuses every Host a DNS rebinding could send, with 421, and answers every name the server is reached by', async () => {
    const s = await server();
    const port = new URL(s.url).port;
    const rebound = [
      `127.0.0.1.attacker.example:${port}`,
      `localhost.attacker.example:${port}`,
      `attacker.example:${port}`,
      `0.0.0.0:${port}`,
      `127.0.0.2:${port}`,
      `[::ffff:127.0.0.1]:${port}`,
      `[::1].attacker.example:${port}`,
    ];
    for (const host of rebound) {
      const page = await raw(`${s.url}/api/lessons`, 'GET', { host });
      expect([host, page.status]).toEqual([host, 421]);
      // what a rebinding page would do next: make a sandbox, with Origin the same rebound name
      const made = await raw(`${s.url}/api/sandboxes`, 'POST', { host, origin: `http://${host}`, 'content-type': 'application/json' }, '{}');
      expect([host, made.status]).toEqual([host, 421]);
    }
    expect(s.sandboxes.count).toBe(0);
    // its own names on any port: the port a client names is the one it reached (docker run -p 9000:8080, a tunnel)
    const forwarded = [`127.0.0.1:${Number(port) + 1}`, 'localhost', 'localhost:9000'];
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LocalHost:${port}`, `localhost.:${port}`, `[::1]:${port}`, ...forwarded]) {
      expect([host, (await raw(`${s.url}/api/lessons`, 'GET', { host })).status]).toEqual([host, 200]);
    }
  });

  it('takes a page for its own only from the very Host it calls, port and all', async () => {
    const s = await server();
    const learner = await s.learner();
    const port = Number(new URL(s.url).port);
    const host = `127.0.0.1:${port}`;
    // another site on this machine (another port, another loopback name) is another origin
    for (const origin of [`http://127.0.0.1:${port + 1}`, `http://localhost:${port}`, 'http://127.0.0.1', 'null']) {
      const made = await raw(`${s.url}/api/sandboxes`, 'POST', { host, origin, cookie: learner.cookie, 'content-type': 'application/json' }, '{}');
      expect([origin, made.status]).toEqual([origin, 403]);
    }
    expect(s.sandboxes.count).toBe(0);
    const made = await raw(`${s.url}/api/sandboxes`, 'POST', { host, origin: `http://${host}`, cookie: learner.cookie, 'content-type': 'application/json' }, '{}');
    expect(made.status).toBe(201);
    await learner.json(`/api/sandboxes/${(JSON.parse(made.body) as { id: string }).id}`, { method: 'DELETE' });
  });

  it('refuses a rebound WebSocket upgrade', async () => {
    const s = await server();
    const learner = await s.learner();
    const box = await learner.createSandbox();
    const term = await learner.createTerminal(box.id);
    const host = `127.0.0.1.attacker.example:${new URL(s.url).port}`;
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(learner.wsUrl(term.id), { headers: { host, origin: `http://${host}`, cookie: learner.cookie } });
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => (ws.close(), resolve(101)));
      ws.once('error', () => resolve(0));
    });
    expect(status).toBe(421);
  });
});

describe('capacity', () => {
  it('gives a client that rotates its cookie at most its share of sandboxes, while another client still starts a lesson', async () => {
    // the default shares (0): a quarter of the most sandboxes per address
    const s = await server({ maxSandboxes: 8, labsDir: FIXTURES, sandboxesPerAddress: 0, newLearnersPerAddress: 120 });
    let got = 0;
    for (let i = 0; i < 30; i++) {
      // a new cookie each time: a new learner, as far as the server could tell before
      const visitor = await Learner.visit(s.url, '127.0.0.2').catch(() => undefined);
      if (!visitor) continue;
      const res = await visitor.fetch('/api/sandboxes', { method: 'POST' });
      if (res.status === 201) got++;
    }
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThanOrEqual(2);
    const honest = await Learner.visit(s.url, '127.0.0.3');
    const started = await honest.fetch('/api/lessons/01-basics/start', { method: 'POST' });
    expect(started.status).toBe(200);
  });

  it('puts a learner in line when the server is full, shows their place, and starts their lesson within a second of a sandbox freeing', async () => {
    const s = await server({ maxSandboxes: 1, labsDir: FIXTURES });
    const first = await Learner.visit(s.url, '127.0.0.2');
    const held = (await first.json<{ sandbox: { id: string } }>('/api/lessons/01-basics/start', { method: 'POST' })).sandbox.id;
    const second = await Learner.visit(s.url, '127.0.0.3');
    const channel = second.channel();
    const messages: Array<{ kind: string; update?: { type: string; step?: string; place?: { position: number } } }> = [];
    channel.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString())));
    await new Promise((resolve, reject) => channel.once('open', resolve).once('error', reject));
    stops.push(async () => void channel.close());
    const asked = await second.fetch('/api/lessons/01-basics/start', { method: 'POST' });
    expect(asked.status).toBe(202);
    expect(await asked.json()).toMatchObject({ queued: { position: 1 } });
    await until(() => messages.some((m) => m.update?.step === 'queued' && m.update.place?.position === 1), 5000, () => `no place in line on the channel: ${JSON.stringify(messages)}`);
    const freed = Date.now();
    await first.fetch(`/api/sandboxes/${held}`, { method: 'DELETE' });
    await until(() => messages.some((m) => m.update?.step === 'ready'), 5000, () => `the lesson never started: ${JSON.stringify(messages)}`);
    expect(Date.now() - freed).toBeLessThan(1000);
    const lesson = await second.json<{ run: { sandbox: { id: string } | null } }>('/api/lessons/01-basics');
    expect(lesson.run.sandbox?.id).toBeTruthy();
  });
});

describe('connections', () => {
  let proc: ServerProcess | undefined;
  afterEach(async () => {
    await proc?.stop();
    proc = undefined;
  });

  it('cuts off one address\'s flood of idle sockets while another address\'s terminal still echoes and /healthz answers', async () => {
    // a server that may hold 2048 descriptors: today's flood of 20,000 at a smaller scale
    proc = await startServerProcess('sockets', [], 2048);
    const honest = await Learner.visit(proc.url, '127.0.0.3');
    const box = await honest.createSandbox();
    const term = await honest.createTerminal(box.id);
    const client = await RawClient.attach(honest, term.id);
    const sockets: net.Socket[] = [];
    let refused = 0;
    try {
      const { port } = new URL(proc.url);
      // bounded: 2,500 connections that never say a word, from one address
      for (let i = 0; i < 2500; i++) {
        const socket = net.connect({ host: '127.0.0.1', port: Number(port), localAddress: '127.0.0.2' });
        socket.on('error', () => {});
        socket.on('close', () => refused++);
        sockets.push(socket);
        if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
      // the server has cut most of them off
      expect(refused).toBeGreaterThan(2000);
      const t0 = Date.now();
      const health = await Learner.visit(proc.url, '127.0.0.4').then(() => fetch(`${proc!.url}/healthz`));
      expect(health.status).toBe(200);
      const from = client.output().length;
      client.send({ type: 'input', data: Buffer.from('echo still-$((40+2))\r') });
      await until(() => client.output().slice(from).includes('still-42'), 5000, () => 'the honest terminal did not echo');
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      for (const socket of sockets) socket.destroy();
      client.close();
    }
  }, 60_000);

  it('rate limits join-code lookups as it does joins', async () => {
    const s = await server({ newLearnersPerAddress: 120 });
    const visitor = await Learner.visit(s.url, '127.0.0.2');
    const statuses: number[] = [];
    for (let i = 0; i < 200; i++) statuses.push((await visitor.fetch(`/api/join/${'ABCDEFGHJK'[i % 10]}XYZWV`)).status);
    expect(statuses).toContain(429);
    expect(statuses.filter((st) => st === 404).length).toBeLessThan(100);
  });
});
