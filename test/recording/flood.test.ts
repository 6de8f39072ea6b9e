// A flood's recording keeps what the screen and scrollback can still show:
// fed the same stream as a real mirror (its worker thread), the recorder
// leaves out the lines the mirror skipped, and the recording, replayed into a
// terminal of the mirror's size and scrollback, ends with exactly the
// mirror's buffer. Without a mirror's word (it broke, or never answered), a
// flood is kept whole.
import headless from '@xterm/headless';
import { SerializeAddon } from '@xterm/addon-serialize';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { CAST_EXT, CastRecorder, castText } from '../../server/recording/cast.js';
import { MirrorPool } from '../../server/terminal/mirror.js';

const SCROLLBACK = 300;
const encode = (text: string) => new TextEncoder().encode(text);
const PROMPT = '\x1b[1;32mroot@box\x1b[0m:~# ';
const lines = (count: number, line: (i: number) => string) => Array.from({ length: count }, (_, i) => `${line(i)}\r\n`).join('');

let pool: MirrorPool;
let dir: string;
beforeAll(() => {
  pool = new MirrorPool({ scrollback: SCROLLBACK });
});
afterAll(() => pool.close());
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'boxlab-rec-flood-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The stream in a session's 64 KiB batches to a mirror and a recorder that hears it, as a terminal session wires them. */
async function record(stream: Uint8Array, cols = 100, rows = 30, mirrored = true) {
  const file = path.join(dir, `t${CAST_EXT}`);
  const mirror = pool.open(cols, rows);
  const rec = new CastRecorder({ file, cols, rows, maxBytes: 1024 ** 3, mirrored });
  mirror.onProgress = (upTo, skip) => rec.mirrored(upTo, skip);
  for (let i = 0; i < stream.length; i += 64 * 1024) {
    const batch = stream.slice(i, i + 64 * 1024);
    mirror.write(batch);
    rec.output(batch);
    // the pty paused while the mirror is a MiB behind
    while (mirror.pending > 1024 * 1024) await new Promise((r) => setTimeout(r, 5));
  }
  const snapshot = await mirror.snapshot();
  rec.end();
  await rec.flush();
  mirror.close();
  return { file, snapshot, skipped: mirror.skipped };
}

async function replayed(file: string, cols: number, rows: number): Promise<{ text: string; output: number }> {
  const [, ...events] = castText(readFileSync(file), file).trimEnd().split('\n').map((l) => JSON.parse(l) as [number, string, string]);
  const term = new headless.Terminal({ cols, rows, scrollback: SCROLLBACK, allowProposedApi: true });
  const serializer = new SerializeAddon();
  term.loadAddon(serializer);
  let output = 0;
  for (const [, code, data] of events) {
    if (code !== 'o') continue;
    output += Buffer.byteLength(data); // bytes, as the stream's length is counted
    await new Promise<void>((resolve) => term.write(data, resolve));
  }
  const text = serializer.serialize();
  term.dispose();
  return { text, output };
}

it('leaves out of a flood the lines the mirror skipped, and replays to exactly its screen and scrollback', async () => {
  const flood = lines(120_000, (i) => (i % 19_997 === 0 ? `\x1b[3${i % 8}m${i} coloured\x1b[0m` : `${i} ${'x'.repeat(i % 90)} ✓`));
  const stream = encode(`${PROMPT}cat big\r\n${flood}\x1b[5;20r\x1b[10;1H${lines(3000, (i) => `in a region ${i}`)}\x1b[r${PROMPT}`);
  const { file, snapshot, skipped } = await record(stream);
  expect(skipped).toBeGreaterThan(stream.length / 5);
  const replay = await replayed(file, 100, 30);
  expect(replay.text).toBe(snapshot);
  // what the mirror skipped is not on disk: the recording keeps about the rest
  expect(replay.output).toBeLessThan(stream.length - skipped / 2);
  expect(statSync(file).size).toBeLessThan(stream.length - skipped / 2);
});

it('keeps a flood whole when no mirror reports, and when the mirror stops reporting', async () => {
  const stream = encode(`${PROMPT}yes\r\n${lines(200_000, () => 'y')}${PROMPT}`);
  const whole = await record(stream, 80, 24, false);
  expect(whole.skipped).toBeGreaterThan(0);
  const replay = await replayed(whole.file, 80, 24);
  expect(replay.output).toBe(stream.length);
  expect(replay.text).toBe(whole.snapshot);

  // a recorder told of a mirror that is then gone (Infinity: no more word) writes the rest whole, at once
  const file = path.join(dir, `gone${CAST_EXT}`);
  const rec = new CastRecorder({ file, cols: 80, rows: 24, maxBytes: 1024 ** 3, mirrored: true });
  for (let i = 0; i < stream.length; i += 64 * 1024) rec.output(stream.slice(i, i + 64 * 1024));
  const started = performance.now();
  rec.mirrored(Infinity);
  rec.end();
  await rec.flush();
  expect(performance.now() - started).toBeLessThan(2000);
  expect((await replayed(file, 80, 24)).output).toBe(stream.length);
});

it('cuts a skip heard of only after the segment it starts in was written from the first line after it, and one heard in time whole', async () => {
  const file = path.join(dir, `late${CAST_EXT}`);
  const rec = new CastRecorder({ file, cols: 80, rows: 24, maxBytes: 1024 ** 3, mirrored: true });
  const text = encode(lines(40_000, (i) => `line ${i}`));
  const whole = 100_005; // in the middle of a line
  rec.output(text.slice(0, whole));
  await rec.flush(); // no flood's: written whole at once
  for (let i = whole; i < text.length; i += 64 * 1024) rec.output(text.slice(i, Math.min(text.length, i + 64 * 1024)));
  // the mirror's word comes now: one skip began in the part already written, one in the flood's
  rec.mirrored(text.length, [50_000, 300_000]);
  rec.mirrored(text.length, [400_000, 450_000]);
  rec.end();
  await rec.flush();
  const replay = (await replayed(file, 80, 24)).output;
  // the flood's segment begins in the middle of a line: the late skip is cut from the next line on
  const lineStart = Buffer.from(text).indexOf('\r\n', whole) + 2;
  expect(replay).toBe(text.length - 50_000 - (300_000 - lineStart));
});

it('hears of no skip from a mirror started again blank, which no longer holds the stream as the recording has it', async () => {
  const mirror = pool.open(80, 24);
  const skips: Array<readonly [number, number]> = [];
  mirror.onProgress = (_upTo, skip) => skip && skips.push(skip);
  // a scroll region the recording has and the blank mirror will not: skipping after it would be wrong
  mirror.write(encode('\x1b[5;15r'));
  mirror.restart();
  mirror.write(encode(lines(20_000, (i) => `line ${i}`)));
  await mirror.snapshot();
  expect(mirror.skipped).toBeGreaterThan(0);
  expect(skips).toEqual([]);
  mirror.close();
});

it('writes a flood whole once the mirror has kept silent too long', async () => {
  const file = path.join(dir, `silent${CAST_EXT}`);
  const rec = new CastRecorder({ file, cols: 80, rows: 24, maxBytes: 1024 ** 3, mirrored: true });
  const stream = encode(lines(60_000, () => 'y'));
  for (let i = 0; i < stream.length; i += 64 * 1024) rec.output(stream.slice(i, i + 64 * 1024));
  rec.end();
  await rec.flush();
  expect((await replayed(file, 80, 24)).output).toBe(stream.length);
});
