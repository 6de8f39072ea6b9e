// The lesson player as a browser meets it: the bytes a first visit transfers
// (the page, its script with every chunk it imports, its stylesheet and icon,
// gzip as boxlab serves it), and how long starting a lesson takes, from the
// request to a sandbox set up and ready, for a lesson without setup.sh and
// one with.
import { rmSync } from 'node:fs';
import http from 'node:http';
import { loadConfig } from '../server/config.js';
import { startServer } from '../server/main.js';
import type { BenchResult } from './result.js';
import { percentile, round } from './stats.js';

const STARTS = 15;

/** GETs a path and counts the bytes on the wire (no decompression). */
function wireBytes(url: string, cookie = ''): Promise<{ bytes: number; body: string; cookie: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { 'accept-encoding': 'gzip, deflate, br', ...(cookie ? { cookie } : {}) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          const encoded = res.headers['content-encoding'] === 'gzip';
          const set = res.headers['set-cookie']?.[0]?.split(';')[0] ?? cookie;
          if (res.statusCode !== 200) return reject(new Error(`${url}: ${res.statusCode}`));
          resolve({ bytes: raw.length, body: encoded ? '' : raw.toString('utf8'), cookie: set });
        });
      })
      .on('error', reject);
  });
}

/** The first-load weight of a page: HTML, its icon and stylesheet, its script and every chunk the script imports, and the API data it loads. */
async function pageWeight(base: string, page: string, data: string[]): Promise<number> {
  const html = await wireBytes(base + page);
  let total = html.bytes;
  for (const api of data) total += (await wireBytes(base + api, html.cookie)).bytes;
  const refs = [...html.body.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1]!);
  const seen = new Set<string>();
  const queue = [...refs];
  while (queue.length) {
    const ref = queue.shift()!;
    if (seen.has(ref)) continue;
    seen.add(ref);
    total += (await wireBytes(base + ref, html.cookie)).bytes;
    if (ref.endsWith('.js')) {
      // read the script itself to find the chunks it imports
      const plain = await fetch(base + ref).then((r) => r.text());
      for (const m of plain.matchAll(/(?:from|import)\s*"\.\/([^"]+)"/g)) queue.push(new URL(m[1]!, base + ref).pathname);
    }
  }
  return total;
}

export async function benchPlayer(): Promise<BenchResult[]> {
  const server = await startServer(loadConfig({ port: 0, host: '127.0.0.1', instance: 'bench-player', logLevel: 'warn', database: `/tmp/boxlab-bench-player-${process.pid}.db` }));
  try {
    const results: BenchResult[] = [];
    const pages = [
      ['catalogue', '/', ['/api/lessons']],
      ['lesson', '/lessons/01-namespaces', ['/api/lessons/01-namespaces']],
      ['free sandbox', '/sandbox.html', ['/api/sandboxes']],
    ] as const;
    for (const [name, page, data] of pages) {
      results.push({ name: `page first load: ${name}`, value: round((await pageWeight(server.url, page, [...data])) / 1024, 1), unit: 'KiB', target: '<= 500' });
    }
    for (const lesson of ['01-namespaces', '02-cgroups']) {
      const samples: number[] = [];
      for (let i = 0; i <= STARTS; i++) {
        const cookie = (await wireBytes(`${server.url}/api/lessons`)).cookie;
        const started = performance.now();
        const res = await fetch(`${server.url}/api/lessons/${lesson}/start`, { method: 'POST', headers: { cookie, origin: server.url } });
        const elapsed = performance.now() - started;
        const body = (await res.json()) as { sandbox?: { id: string }; error?: string };
        if (!body.sandbox) throw new Error(`start ${lesson}: ${body.error}`);
        if (i > 0) samples.push(elapsed); // the first one also probes the host
        await server.sandboxes.destroy(body.sandbox.id);
      }
      results.push({ name: `lesson start ${lesson} p50`, value: round(percentile(samples, 50)), unit: 'ms', target: '' });
      results.push({ name: `lesson start ${lesson} p95`, value: round(percentile(samples, 95)), unit: 'ms', target: '<= 1000' });
    }
    return results;
  } finally {
    await server.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`/tmp/boxlab-bench-player-${process.pid}.db${suffix}`, { force: true });
  }
}
