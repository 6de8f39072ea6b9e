// The HTTP side: who a request comes from, what it may touch, how it fails,
// and the headers every page gets.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type Learner, type SandboxJson, type TestServer } from '../helpers/server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer('api', { maxSandboxes: 3 });
});

afterAll(async () => {
  await server.close();
  expect(await server.leftovers()).toEqual([]);
});

it('gives a new visitor an unguessable learner cookie that scripts cannot read, and keeps it', async () => {
  const res = await fetch(`${server.url}/api/sandboxes`);
  const cookie = res.headers.getSetCookie()[0]!;
  expect(cookie).toMatch(/^boxlab_learner=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}; Path=\/; Max-Age=31536000; HttpOnly; SameSite=Lax$/);
  const again = await fetch(`${server.url}/api/sandboxes`, { headers: { cookie: cookie.split(';')[0]! } });
  expect(again.headers.getSetCookie()).toEqual([]);
  // behind a TLS proxy the cookie is Secure
  const https = await fetch(`${server.url}/api/sandboxes`, { headers: { 'x-forwarded-proto': 'https' } });
  expect(https.headers.getSetCookie()[0]).toMatch(/; Secure$/);
  // a tampered cookie is no identity: the visitor gets a new one
  const forged = await fetch(`${server.url}/api/sandboxes`, { headers: { cookie: `${cookie.split(';')[0]!.slice(0, -2)}xx` } });
  expect(forged.headers.getSetCookie()[0]).toMatch(/^boxlab_learner=/);
  expect(forged.headers.getSetCookie()[0]!.split(';')[0]).not.toBe(cookie.split(';')[0]);
});

it('serves the page with a strict Content-Security-Policy and no third-party assets', async () => {
  const res = await fetch(`${server.url}/`);
  expect(res.status).toBe(200);
  const csp = res.headers.get('content-security-policy')!;
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toMatch(/script-src[^;]*(unsafe|http)/);
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  const html = await res.text();
  expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  for (const asset of ['/catalogue.js', '/lesson.js', '/sandbox.js', '/app.css', '/favicon.svg']) expect((await fetch(`${server.url}${asset}`)).status).toBe(200);
  // scripts and styles go out gzipped to a browser that takes it, as themselves to one that does not
  const zipped = await fetch(`${server.url}/lesson.js`, { headers: { 'accept-encoding': 'gzip' } });
  expect([zipped.headers.get('content-encoding'), zipped.headers.get('content-type'), zipped.headers.get('vary')]).toEqual(['gzip', 'text/javascript; charset=utf-8', 'Accept-Encoding']);
  expect(await zipped.text()).toMatch(/^import/);
  const plain = await fetch(`${server.url}/app.css`, { headers: { 'accept-encoding': 'identity' } });
  expect([plain.headers.get('content-encoding'), plain.headers.get('content-type')]).toEqual([null, 'text/css; charset=utf-8']);
  expect((await fetch(`${server.url}/../package.json`)).status).toBe(404);
  expect((await fetch(`${server.url}/%2e%2e/package.json`)).status).toBe(404);
});

it('keeps each learner to their own sandboxes', async () => {
  const [alice, bob] = [await server.learner(), await server.learner()];
  const box = await alice.createSandbox();
  expect(box).toMatchObject({ id: expect.stringMatching(/^sbx-/), hostname: expect.stringMatching(/^box-/), terminals: [] });
  expect((await alice.json<{ sandboxes: SandboxJson[] }>('/api/sandboxes')).sandboxes.map((s) => s.id)).toEqual([box.id]);
  expect((await bob.json<{ sandboxes: SandboxJson[] }>('/api/sandboxes')).sandboxes).toEqual([]);
  expect((await bob.fetch(`/api/sandboxes/${box.id}`, { method: 'DELETE' })).status).toBe(404);
  expect(server.sandboxes.has(box.id)).toBe(true);
  expect((await alice.fetch(`/api/sandboxes/${box.id}`, { method: 'DELETE' })).status).toBe(204);
  expect(server.sandboxes.has(box.id)).toBe(false);
});

it('refuses a sandbox beyond the server cap with 503, and beyond a learner\'s share with 409', async () => {
  const learners: Learner[] = [];
  const made: Array<[Learner, string]> = [];
  for (let i = 0; i < 3; i++) {
    const l = await server.learner();
    learners.push(l);
    made.push([l, (await l.createSandbox()).id]);
  }
  const late = await server.learner();
  const full = await late.fetch('/api/sandboxes', { method: 'POST' });
  expect(full.status).toBe(503);
  expect(await full.json()).toEqual({ error: 'all 3 sandboxes are in use; try again in a few minutes' });
  for (const [l, id] of made) await l.json(`/api/sandboxes/${id}`, { method: 'DELETE' });

  const greedy = await server.learner();
  for (let i = 0; i < 3; i++) await greedy.createSandbox();
  const fourth = await greedy.fetch('/api/sandboxes', { method: 'POST' });
  expect(fourth.status).toBe(409);
  expect((await fourth.json()).error).toMatch(/you already have 3 sandboxes/);
  for (const s of (await greedy.json<{ sandboxes: SandboxJson[] }>('/api/sandboxes')).sandboxes) await greedy.json(`/api/sandboxes/${s.id}`, { method: 'DELETE' });
});

it('answers bad requests with clear JSON errors', async () => {
  const learner = await server.learner();
  const box = await learner.createSandbox();
  const post = (body: string, headers: Record<string, string> = {}) =>
    learner.fetch(`/api/sandboxes/${box.id}/terminals`, { method: 'POST', body, headers });
  const cases: Array<[Promise<Response>, number, RegExp]> = [
    [post('{"cols": 80,'), 400, /not valid JSON/],
    [post(JSON.stringify({ cols: 'x'.repeat(5000) })), 413, /too large/],
    [post('[1,2]'), 400, /JSON object/],
    [post('{"cols": 0, "rows": 24}'), 400, /2 to 500 columns/],
    [post('{"cols": 100000, "rows": 24}'), 400, /2 to 500 columns/],
    [learner.fetch('/api/nothing-here'), 404, /no such API: GET \/api\/nothing-here/],
    [learner.fetch('/api/sandboxes/sbx-nope/terminals', { method: 'POST', body: '{}' }), 404, /no sandbox sbx-nope/],
    [learner.fetch('/api/terminals/term-nope'), 404, /no terminal term-nope/],
  ];
  for (const [pending, status, message] of cases) {
    const res = await pending;
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await res.json()) as { error: string }).error).toMatch(message);
  }
  const term = await learner.createTerminal(box.id, { cols: 100, rows: 30 });
  expect(term).toMatchObject({ sandboxId: box.id, cols: 100, rows: 30, viewers: 0, socket: `/ws/terminals/${term.id}` });
  await learner.json(`/api/sandboxes/${box.id}`, { method: 'DELETE' });
  expect(server.terminals.get(term.id)).toBeUndefined();
});

it('refuses state changes from another site, and requests to a foreign host name', async () => {
  const learner = await server.learner();
  const crossSite = await learner.fetch('/api/sandboxes', { method: 'POST', headers: { origin: 'http://evil.example' } });
  expect(crossSite.status).toBe(403);
  expect(await crossSite.json()).toEqual({ error: 'cross-origin requests are refused' });
  // DNS rebinding: a page on evil.example whose name now points at 127.0.0.1
  const rebound = await new Promise<number>((resolve, reject) => {
    import('node:http').then(({ request }) => {
      const url = new URL(`${server.url}/api/sandboxes`);
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, headers: { host: `evil.example:${url.port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    }, reject);
  });
  expect(rebound).toBe(421);
  expect((await learner.json<{ sandboxes: SandboxJson[] }>('/api/sandboxes')).sandboxes).toEqual([]);
  expect(server.sandboxes.count).toBe(0);
});
