// The recorder's file and the limits on what recordings keep: a terminal's
// cap stops its recording (and says so in it), a learner's cap removes their
// oldest recordings first, the retention period removes old recordings and
// timeline entries, and the learner's request removes all of theirs.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { LearnerBus } from '../../server/events.js';
import { CAST_EXT, castProblems, CastRecorder, castStream, castText, Utf8Stream } from '../../server/recording/cast.js';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { Recordings } from '../../server/recording/index.js';
import { openDb, type Db } from '../../server/store/db.js';

let dir: string;
let db: Db;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'boxlab-rec-'));
  db = openDb(path.join(dir, 'test.db'));
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const noise = (n: number) => {
  // output that compresses badly, as a flood of random data would
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = 0x21 + Math.floor(Math.random() * 90);
  return bytes;
};

function recordings(options: Partial<ConstructorParameters<typeof Recordings>[0]> = {}) {
  const bus = new LearnerBus();
  const r = new Recordings({ db, bus, dir: path.join(dir, 'rec'), mode: 'all', terminalBytes: 1024 ** 2, learnerBytes: 8 * 1024 ** 2, retentionMs: 3_600_000, lessonOf: (sandbox) => ({ learnerId: `learner-${sandbox}`, lessonId: '01-namespaces' }), inWorkshop: () => false, ...options });
  return { r, bus };
}

it('writes an asciicast v2 file of compressed segments, its times never going back', async () => {
  const file = path.join(dir, `a${CAST_EXT}`);
  const rec = new CastRecorder({ file, cols: 100, rows: 30, maxBytes: 1024 ** 2, flushMs: 5 });
  rec.output(new TextEncoder().encode('hello\r\n'));
  rec.input(new TextEncoder().encode('ls\r'));
  await new Promise((r) => setTimeout(r, 30));
  rec.resize(120, 40);
  // a character split across two batches is one character in the cast
  const euro = new TextEncoder().encode('€');
  rec.output(euro.subarray(0, 1));
  rec.output(euro.subarray(1));
  rec.end();
  await rec.flush();
  const text = castText(readFileSync(file), file);
  const [header, ...events] = text.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
  expect(header).toMatchObject({ version: 2, width: 100, height: 30 });
  expect(Number.isInteger((header as { timestamp: number }).timestamp)).toBe(true);
  expect(events.map((e) => (e as unknown[]).slice(1))).toEqual([['o', 'hello\r\n'], ['i', 'ls\r'], ['r', '120x40'], ['o', '€']]);
  const times = events.map((e) => (e as [number])[0]);
  expect(times).toEqual([...times].sort((a, b) => a - b));
  expect(times[2]).toBeGreaterThan(0.02);
  expect(castProblems(text)).toEqual([]);
  // and the rules catch what breaks them
  expect(castProblems('{"version":1,"width":80,"height":24}\n[1,"o","a"]\n[0.5,"o","b"]\n')).toEqual(['the header has no "version": 2', 'line 3 goes back in time (0.5 < 1)']);
});

it("stops a terminal's recording at its cap, and says so in it", async () => {
  const { r } = recordings({ terminalBytes: 64 * 1024, flushMs: 1 });
  const tap = r.open({ id: 'term-1', sandboxId: 's1', cols: 80, rows: 24 })!;
  for (let i = 0; i < 40; i++) {
    tap.output(noise(8 * 1024));
    await r.flushAll();
  }
  tap.end();
  await r.flushAll();
  const [row] = r.of('learner-s1');
  const size = statSync(r.fileOf(row!)).size;
  expect(size).toBeLessThanOrEqual(64 * 1024 + 512);
  expect(size).toBeGreaterThan(32 * 1024);
  const text = castText(readFileSync(r.fileOf(row!)), r.fileOf(row!));
  expect(text.trimEnd().split('\n').at(-1)).toMatch(/"m","this terminal's recording reached its size cap/);
  expect(castProblems(text)).toEqual([]);
  // more output changes nothing
  tap.output(noise(64 * 1024));
  await r.flushAll();
  expect(statSync(r.fileOf(row!)).size).toBe(size);
  await r.close();
  expect(r.store.get(row!.id)).toMatchObject({ bytes: size, stopped: expect.stringMatching(/size cap/) });
});

it("removes a learner's oldest recordings past their cap, and stops one that alone fills it", async () => {
  const { r } = recordings({ learnerBytes: 100 * 1024, terminalBytes: 1024 ** 2, flushMs: 1 });
  const files: string[] = [];
  for (let n = 0; n < 4; n++) {
    const tap = r.open({ id: `term-${n}`, sandboxId: 's1', cols: 80, rows: 24 })!;
    tap.output(noise(40 * 1024));
    tap.end();
    await r.flushAll();
    await new Promise((res) => setTimeout(res, 5));
    files.push(r.fileOf(r.of('learner-s1')[0]!));
  }
  const kept = r.of('learner-s1');
  expect(kept.length).toBeLessThan(4);
  expect(kept.reduce((n, k) => n + k.bytes, 0)).toBeLessThanOrEqual(100 * 1024);
  // the newest stay, the oldest went, file and all
  expect(existsSync(files[3]!)).toBe(true);
  expect(existsSync(files[0]!)).toBe(false);
  // a single live recording cannot outgrow the learner's cap either
  const tap = r.open({ id: 'term-big', sandboxId: 's1', cols: 80, rows: 24 })!;
  for (let i = 0; i < 30; i++) {
    tap.output(noise(8 * 1024));
    await r.flushAll();
  }
  const usage = r.of('learner-s1').reduce((n, k) => n + k.bytes, 0);
  expect(usage).toBeLessThanOrEqual(100 * 1024 + 1024);
  await r.close();
});

it('removes recordings and timeline entries past the retention period, and all of a learner\'s on request', async () => {
  let now = Date.now();
  const { r, bus } = recordings({ now: () => now, retentionMs: 60_000 });
  const tap = r.open({ id: 'term-old', sandboxId: 's1', cols: 80, rows: 24 })!;
  tap.output(new TextEncoder().encode('old'));
  bus.emit({ type: 'command', learnerId: 'learner-s1', lessonId: '01-namespaces', line: 'echo old', at: now });
  tap.end();
  await r.flushAll();
  await new Promise((res) => setTimeout(res, 20));
  const [old] = r.of('learner-s1');
  expect(old!.endedAt).not.toBeNull();
  now += 120_000;
  const fresh = r.open({ id: 'term-new', sandboxId: 's1', cols: 80, rows: 24 })!;
  fresh.output(new TextEncoder().encode('new'));
  bus.emit({ type: 'command', learnerId: 'learner-s1', lessonId: '01-namespaces', line: 'echo new', at: now });
  await r.flushAll();
  expect(await r.sweep()).toBe(1);
  expect(existsSync(r.fileOf(old!))).toBe(false);
  expect(r.of('learner-s1').map((x) => x.terminalId)).toEqual(['term-new']);
  expect(r.store.commands('learner-s1').map((c) => c.line)).toEqual(['echo new']);
  // the learner asks: everything of theirs goes, the live one too
  const live = r.of('learner-s1')[0]!;
  await r.removeLearner('learner-s1');
  fresh.output(new TextEncoder().encode('after'));
  await r.flushAll();
  expect(r.of('learner-s1')).toEqual([]);
  expect(existsSync(r.fileOf(live))).toBe(false);
  expect(r.store.timeline('learner-s1')).toEqual([]);
  await r.close();
});

it('records nobody with mode none, and only workshop members with mode workshops', async () => {
  const none = recordings({ mode: 'none' }).r;
  expect(none.open({ id: 't', sandboxId: 's1', cols: 80, rows: 24 })).toBeUndefined();
  const ws = recordings({ mode: 'workshops', inWorkshop: (l) => l === 'learner-member' }).r;
  expect(ws.open({ id: 't', sandboxId: 'other', cols: 80, rows: 24 })).toBeUndefined();
  expect(ws.open({ id: 't', sandboxId: 'member', cols: 80, rows: 24 })).toBeDefined();
  const bare = recordings({ lessonOf: () => undefined }).r;
  expect(bare.open({ id: 't', sandboxId: 's1', cols: 80, rows: 24 })).toBeUndefined();
  for (const r of [none, ws, bare]) await r.close();
});

it('reads back what a crash cut short up to the last whole segment, and the .cast.gz and .cast.brs files earlier versions wrote', async () => {
  const file = path.join(dir, `b${CAST_EXT}`);
  const rec = new CastRecorder({ file, cols: 80, rows: 24, maxBytes: 1024 ** 2, flushMs: 5 });
  rec.output(new TextEncoder().encode('first\r\n'));
  await rec.flush();
  rec.output(new TextEncoder().encode('second\r\n'));
  await rec.flush();
  const whole = readFileSync(file);
  writeFileSync(file, whole.subarray(0, whole.length - 3));
  const read = async (f: string) => {
    let text = '';
    for await (const chunk of castStream(f)) text += String(chunk);
    return text;
  };
  const cut = await read(file);
  expect(cut).toContain('"first\\r\\n"');
  expect(cut).not.toContain('second');
  expect(castText(readFileSync(file), file)).toBe(cut);
  // the older format: gzip members
  const old = path.join(dir, 'c.cast.gz');
  const lines = '{"version":2,"width":80,"height":24}\n[0.1,"o","old"]\n';
  writeFileSync(old, Buffer.concat([gzipSync(lines.slice(0, 38)), gzipSync(lines.slice(38))]));
  expect(await read(old)).toBe(lines);
  // and brotli segments of the lines themselves
  const brs = path.join(dir, 'd.cast.brs');
  const packed = [lines.slice(0, 38), lines.slice(38)].map((part) => brotliCompressSync(part));
  writeFileSync(brs, Buffer.concat(packed.flatMap((p) => [Buffer.from([0, 0, p.length >> 8, p.length & 255]), p])));
  expect(await read(brs)).toBe(lines);
  expect(castText(readFileSync(brs), brs)).toBe(lines);
});

it('decodes UTF-8 split anywhere across batches, and bad bytes as U+FFFD', () => {
  const text = 'a€b😀c ü\r\n';
  const bytes = new TextEncoder().encode(text);
  for (let cut1 = 0; cut1 <= bytes.length; cut1++) {
    for (let cut2 = cut1; cut2 <= bytes.length; cut2++) {
      const d = new Utf8Stream();
      expect(d.decode(bytes.subarray(0, cut1)) + d.decode(bytes.subarray(cut1, cut2)) + d.decode(bytes.subarray(cut2))).toBe(text);
    }
  }
  const d = new Utf8Stream();
  expect(d.decode(new Uint8Array([0x61, 0xe2])) + d.decode(new Uint8Array([0x62, 0xff, 0x63]))).toBe('a\ufffdb\ufffdc');
});

it("stores a flood's segments as they are when brotli barely shrinks them, tries again later, and reads it all back", async () => {
  const file = path.join(dir, `flood${CAST_EXT}`);
  const rec = new CastRecorder({ file, cols: 80, rows: 24, maxBytes: 1024 ** 3 });
  const flood = noise(11 * 1024 ** 2);
  for (let i = 0; i < flood.length; i += 64 * 1024) {
    rec.output(flood.slice(i, i + 64 * 1024));
    if (i % (1024 * 1024) === 15 * 64 * 1024) await rec.flush(); // a disk that keeps up
  }
  await rec.flush();
  const prompt = new TextEncoder().encode('$ ');
  rec.output(prompt);
  await rec.flush();
  const text = new TextEncoder().encode('plain text\r\n'.repeat(100_000));
  for (let i = 0; i < text.length; i += 64 * 1024) rec.output(text.slice(i, i + 64 * 1024));
  rec.end();
  expect(rec.stopped).toBeUndefined();
  await rec.flush();
  const data = readFileSync(file);
  const kinds: string[] = [];
  for (let pos = 0; pos < data.length; pos += 4 + (data.readUInt32BE(pos) & 0x7fffffff)) kinds.push(data.readUInt32BE(pos) & 0x80000000 ? 'stored' : 'brotli');
  // the header (smaller as it is); the flood's first MiB tried, the next 8 stored, the 10th tried again;
  // the 11th stored; the prompt after it tried (and smaller as it is); the next flood, of text, compressed
  expect(kinds).toEqual(['stored', 'brotli', ...Array(8).fill('stored'), 'brotli', 'stored', 'stored', 'brotli', 'brotli']);
  const [, ...events] = castText(data, file).trimEnd().split('\n').map((l) => JSON.parse(l) as [number, string, string]);
  expect(events.map((e) => e[2]).join('')).toBe(new TextDecoder().decode(flood) + '$ ' + new TextDecoder().decode(text));
  expect(data.length).toBeLessThan(flood.length + 64 * 1024);
});

it('stops, and says so, when more than 8 MiB wait for a disk that does not keep up', async () => {
  const file = path.join(dir, `slow${CAST_EXT}`);
  const rec = new CastRecorder({ file, cols: 80, rows: 24, maxBytes: 1024 ** 3 });
  for (let i = 0; i < 160; i++) rec.output(noise(64 * 1024)); // 10 MiB in one turn of the event loop: no write can finish
  expect(rec.stopped).toMatch(/did not keep up/);
  rec.end();
  await rec.flush();
  const text = castText(readFileSync(file), file);
  expect(text.trimEnd().split('\n').at(-1)).toMatch(/"m","the disk did not keep up; recording stopped"/);
  expect(castProblems(text)).toEqual([]);
});
