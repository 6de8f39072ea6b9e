// A mirror that skips the lines of a flood that could only scroll away must
// end with exactly the screen and scrollback of one that parsed every byte.
// Each stream goes through a real mirror (the worker thread) and through a
// headless xterm.js fed all of it; their serialised buffers must be equal.
import headless from '@xterm/headless';
import { SerializeAddon } from '@xterm/addon-serialize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findElision, linesToKeep } from '../../server/terminal/elide.js';
import { MirrorPool, type Mirror } from '../../server/terminal/mirror.js';

const SCROLLBACK = 200;
const encode = (text: string) => new TextEncoder().encode(text);
const lines = (count: number, line: (i: number) => string) => Array.from({ length: count }, (_, i) => `${line(i)}\r\n`).join('');
const PROMPT = '\x1b[1;32mroot@box\x1b[0m:~# ';

describe('findElision', () => {
  const keep = linesToKeep(24, SCROLLBACK);

  it('skips the plain lines of a flood that have enough lines after them, from and to a line start', () => {
    const data = encode(`${PROMPT}yes\r\n${lines(5000, () => 'y')}`);
    const e = findElision(data, keep)!;
    expect(e).toBeDefined();
    expect(new TextDecoder().decode(data.subarray(e.start - 2, e.start))).toBe('\r\n');
    expect(new TextDecoder().decode(data.subarray(e.end - 2, e.end))).toBe('\r\n');
    expect(data.subarray(e.end).filter((b) => b === 0x0a).length).toBeGreaterThanOrEqual(keep);
    expect(data.subarray(e.start, e.end).every((b) => b === 0x79 || b === 0x0d || b === 0x0a)).toBe(true);
  });

  it('skips nothing when too few lines follow', () => {
    expect(findElision(encode(lines(keep, () => 'y')), keep)).toBeUndefined();
  });

  it('starts after the last escape sequence, C1 control or other control byte', () => {
    for (const odd of ['\x1b[31m', '\xc2\x9b31m', '\x0e', '\x08', '\x07']) {
      const before = lines(100, () => 'a');
      const data = new Uint8Array([...encode(before), ...(odd.startsWith('\xc2') ? [0xc2, 0x9b, 0x33, 0x31, 0x6d] : encode(odd)), ...encode(`odd\r\n${lines(2000, () => 'b')}`)]);
      const e = findElision(data, keep)!;
      expect(e.start).toBe(data.indexOf(0x0a, before.length) + 1);
    }
  });

  it('keeps UTF-8 text, tabs and lone CRs as plain', () => {
    const data = encode(lines(3000, (i) => `│ ${i}\tdone ✓ 漢字\rover`));
    expect(findElision(data, keep)?.start).toBe(data.indexOf(0x0a) + 1);
  });

  it('ends where enough line feeds of plain text follow, not counting those after an escape sequence', () => {
    const before = lines(3000, () => 'a');
    const data = encode(`${before}\x1b[5;7r${lines(keep, () => 'b')}`);
    const e = findElision(data, keep)!;
    expect(data.subarray(e.end, before.length).filter((b) => b === 0x0a).length).toBeGreaterThanOrEqual(keep);
  });

  it('needs CR LF line ends at both edges', () => {
    expect(findElision(encode(lines(3000, () => 'y').replace(/\r\n/g, '\n')), keep)).toBeUndefined();
  });
});

describe('a mirror that skips lines', () => {
  let pool: MirrorPool;
  beforeAll(() => {
    pool = new MirrorPool({ scrollback: SCROLLBACK });
  });
  afterAll(() => pool.close());

  /** What a terminal that parses every byte shows, serialised. */
  async function reference(parts: Array<string | { cols: number; rows: number }>, cols: number, rows: number): Promise<string> {
    const term = new headless.Terminal({ cols, rows, scrollback: SCROLLBACK, allowProposedApi: true });
    const serializer = new SerializeAddon();
    term.loadAddon(serializer);
    for (const part of parts) {
      if (typeof part === 'string') await new Promise<void>((resolve) => term.write(encode(part), resolve));
      else term.resize(part.cols, part.rows);
    }
    const text = serializer.serialize();
    term.dispose();
    return text;
  }

  async function compare(parts: Array<string | { cols: number; rows: number }>, cols = 80, rows = 24): Promise<Mirror> {
    const mirror = pool.open(cols, rows);
    for (const part of parts) {
      if (typeof part === 'string') mirror.write(encode(part));
      else mirror.resize(part.cols, part.rows);
    }
    expect(await mirror.snapshot()).toBe(await reference(parts, cols, rows));
    mirror.close();
    return mirror;
  }

  const flood = (n: number, line: (i: number) => string = (i) => `line ${i} ${'x'.repeat(i % 70)}`) => lines(n, line);

  it('skips most of a plain flood and ends with the same screen and scrollback', async () => {
    const text = `${PROMPT}seq\r\n${flood(20_000)}${PROMPT}`;
    const mirror = await compare([text]);
    expect(mirror.skipped).toBeGreaterThan(0.8 * text.length);
  });

  it('gets colours, wrapped lines, wide characters and a moving cursor right', async () => {
    const coloured = flood(6000, (i) => (i % 97 === 0 ? `\x1b[3${i % 8}mred ${i}\x1b[0m` : `plain ${i}`));
    const wrapped = flood(3000, (i) => `${i} ${'w'.repeat(150 + (i % 200))}`);
    const wide = flood(3000, (i) => `│ ${i} 漢字 ✓ ${'é'.repeat(i % 50)}`);
    const mirror = await compare([`${PROMPT}\x1b[1m${coloured}${wrapped}\x1b[0m\x1b[10;5H${wide}\x1b[7mend\x1b[0m`]);
    expect(mirror.skipped).toBeGreaterThan(0);
  });

  it('skips nothing inside a scroll region, or inside an unfinished escape string, and is still right', async () => {
    const region = await compare([`\x1b[5;15r\x1b[10;1H${flood(5000)}\x1b[r`]);
    expect(region.skipped).toBe(0);
    const title = await compare([`\x1b]0;${flood(5000)}\x07${PROMPT}`]);
    expect(title.skipped).toBe(0);
  });

  it('counts only plain lines after a skip, not those of a scroll region that follows the flood', async () => {
    // the line feeds after a skip push what it left out of reach only while the whole screen scrolls:
    // skipping up to where the region's lines would be enough left the screen's other rows wrong
    const keep = linesToKeep(24, SCROLLBACK);
    const mirror = await compare([`${PROMPT}seq\r\n${flood(5000)}\x1b[5;7r\x1b[6;1H${lines(keep - 10, (i) => `in a region ${i}`)}\x1b[r${PROMPT}`]);
    expect(mirror.skipped).toBeGreaterThan(0); // the flood's lines before its last `keep`
  });

  it('gets the alternate screen, resizes between floods, and floods in many small writes right', async () => {
    await compare([`${flood(3000)}\x1b[?1049h${flood(3000)}\x1b[?1049l${PROMPT}`]);
    await compare([flood(4000), { cols: 100, rows: 30 }, flood(4000), { cols: 60, rows: 10 }, `${PROMPT}ls`]);
    const text = flood(30_000);
    const small = Array.from({ length: Math.ceil(text.length / 4096) }, (_, i) => text.slice(i * 4096, (i + 1) * 4096));
    await compare([...small, PROMPT]);
  });
});
