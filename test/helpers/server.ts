// A real boxlab server in this process (port 0, a cgroup instance of its own,
// the shared rootfs), and learners that talk to it as a browser would: a
// cookie jar, same-origin requests, WebSocket upgrades with an Origin.
import { existsSync, promises as fs } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { loadConfig, type ConfigInput } from '../../server/config.js';
import { startServer, type RunningServer } from '../../server/main.js';
import { detectCgroups } from '../../server/sandbox/cgroups.js';
import { processesIn } from './drivers.js';
import { TEST_DATA_DIR, TEST_SUITE, testInstance } from './env.js';

export interface TestServer extends RunningServer {
  instance: string;
  /** A new learner (a browser with an empty cookie jar). */
  learner(): Promise<Learner>;
  /** Processes and cgroups of this server's sandboxes still on the host. */
  leftovers(): Promise<string[]>;
}

export async function startTestServer(label: string, overrides: Partial<ConfigInput> = {}): Promise<TestServer> {
  const instance = testInstance(label);
  // a database of its own unless told (other checkouts' tests share the data dir, maybe at another schema)
  const database = path.join(os.tmpdir(), `boxlab-${instance}.db`);
  // one test client is one address: the per-address shares are the security suite's to try, with their defaults (0)
  // recordings of its own too, removed with it
  const recordings = path.join(os.tmpdir(), `boxlab-${instance}-recordings`);
  const config = loadConfig({ port: 0, host: '127.0.0.1', dataDir: TEST_DATA_DIR, database, instance, logLevel: 'silent', sandboxesPerAddress: 1000, newLearnersPerAddress: 100_000, ...overrides, recording: { dir: recordings, ...overrides.recording }, rootfs: { suite: TEST_SUITE } }, {});
  const server = await startServer(config);
  return {
    ...server,
    async close() {
      await server.close();
      if (config.database === database) for (const suffix of ['', '-wal', '-shm']) await fs.rm(database + suffix, { force: true });
      if (config.recording.dir === recordings) await fs.rm(recordings, { recursive: true, force: true });
    },
    instance,
    learner: () => Learner.visit(server.url),
    async leftovers() {
      const found: string[] = [];
      for (const h of detectCgroups().hierarchies) {
        const dir = path.join(h.mountPoint, instance);
        if (existsSync(dir) && (await fs.readdir(dir)).some((e) => e.startsWith('sbx-'))) found.push(`cgroup ${dir}`);
      }
      found.push(...(await processesIn(`/${instance}/`)));
      return found;
    },
  };
}

// the server's own declarations of what it sends
import type { SandboxJson, TerminalJson } from '../../server/contracts/lessons.js';
export type { SandboxJson, TerminalJson };

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(`${status}: ${message}`);
  }
}

/**
 * fetch() from a given local address: loopback is all of 127.0.0.0/8, so a
 * test can be several clients at several addresses.
 */
export function fetchFrom(localAddress: string | undefined, url: string, init: RequestInit = {}): Promise<Response> {
  if (!localAddress) return fetch(url, init);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => (headers[name] = value));
    const req = http.request(url, { method: init.method ?? 'GET', headers, localAddress }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const out = new Headers();
        for (let i = 0; i < res.rawHeaders.length; i += 2) out.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
        const status = res.statusCode ?? 0;
        resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, headers: out }));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(typeof init.body === 'string' ? init.body : undefined);
  });
}

export class Learner {
  private constructor(readonly url: string, readonly cookie: string, readonly from?: string) {}

  /** Loads the page once, as a browser would, and keeps the cookie it is given; `from` is the local address it connects from. */
  static async visit(url: string, from?: string): Promise<Learner> {
    const res = await fetchFrom(from, `${url}/api/sandboxes`);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('boxlab_learner='));
    if (!cookie) throw new ApiError(res.status, `the server set no learner cookie: ${await res.text()}`);
    return new Learner(url, cookie.split(';')[0]!, from);
  }

  /** A browser whose cookie jar holds `cookie` (a "name=value; name=value" header). */
  static withCookie(url: string, cookie: string, from?: string): Learner {
    return new Learner(url, cookie, from);
  }

  get origin(): string {
    return new URL(this.url).origin;
  }

  fetch(pathname: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('cookie', this.cookie);
    if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
    if (init.method && init.method !== 'GET' && !headers.has('origin')) headers.set('origin', this.origin);
    return fetchFrom(this.from, `${this.url}${pathname}`, { ...init, headers });
  }

  async json<T>(pathname: string, init: RequestInit = {}): Promise<T> {
    const res = await this.fetch(pathname, init);
    if (!res.ok) throw new ApiError(res.status, ((await res.json().catch(() => ({}))) as { error?: string }).error ?? res.statusText);
    return (res.status === 204 ? undefined : await res.json()) as T;
  }

  createSandbox(): Promise<SandboxJson> {
    return this.json<SandboxJson>('/api/sandboxes', { method: 'POST' });
  }

  createTerminal(sandboxId: string, size = { cols: 80, rows: 24 }): Promise<TerminalJson> {
    return this.json<TerminalJson>(`/api/sandboxes/${sandboxId}/terminals`, { method: 'POST', body: JSON.stringify(size) });
  }

  wsUrl(terminalId: string): string {
    return `${this.url.replace(/^http/, 'ws')}/ws/terminals/${terminalId}`;
  }

  /** A raw WebSocket to a terminal, with this learner's cookie and the server's Origin unless told otherwise. */
  socket(terminalId: string, headers: Record<string, string> = {}): WebSocket {
    return new WebSocket(this.wsUrl(terminalId), { headers: { cookie: this.cookie, origin: this.origin, ...headers }, ...(this.from ? { localAddress: this.from } : {}) });
  }

  /** The live channel of this learner's pages. */
  channel(headers: Record<string, string> = {}): WebSocket {
    return new WebSocket(`${this.url.replace(/^http/, 'ws')}/ws/learner`, { headers: { cookie: this.cookie, origin: this.origin, ...headers }, ...(this.from ? { localAddress: this.from } : {}) });
  }
}

/** Resolves with the HTTP status of a refused WebSocket upgrade (or 101 if it was accepted). */
export function upgradeStatus(ws: WebSocket): Promise<number> {
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.close();
    });
    ws.once('error', (err) => reject(err));
  });
}
