// One terminal's recording, read back as asciicast v2
// (https://docs.asciinema.org/manual/asciicast/v2/): a header line, then
// `[seconds, code, data]` lines: "o" output, "i" input, "r" a resize
// ("COLSxROWS"), "m" a marker (here: a check's verdict, or why recording stopped).
//
// Off the terminal's hot path: the tap copies each batch it is handed, with
// its time, into the segment being gathered (so the session's frames die
// young); a timer appends what gathered to the file as one segment. So the
// data path pays a copy, and the disk a write per second at most (a flood:
// one per 1 MiB).
//
// The file (`.castev`) keeps events as they came, not yet as JSON: each
// segment a 4-byte big-endian length (its top bit set: stored as is) and a
// brotli stream (quality 1) of records, each a code byte, the milliseconds
// since the start and the length (4 bytes each), then the bytes. Text
// decoding and JSON escaping, a third of what recording a flood cost, happen
// when the recording is read (`castStream`), not while the learner types.
// A segment brotli shrinks by less than a quarter (base64, random bytes) has
// the next ones of the flood stored as is, and a later one tried again (and
// the next flood's first): its CPU would buy little disk. Brotli at quality 1 rather than gzip: as small as
// gzip's level 6 on a typical session, and several times cheaper on
// high-entropy text, where deflate spends its time looking for matches that
// are not there (docs/benchmarks.md).
//
// A flood keeps only what the screen and scrollback can still show: the lines
// the terminal's mirror skipped as ones that could only scroll away (elide.ts,
// exact by the mirror's own parser state) are left out of the recording too,
// once the mirror has parsed them. Writing a flood's every byte was most of
// what recording one cost (the page cache's copy). Earlier versions' files (`.cast.brs`:
// segments of JSON lines; `.cast.gz`: gzip members) still read back.
import { createReadStream, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { brotliCompress as brotliCompressCb, brotliDecompress as brotliDecompressCb, brotliDecompressSync, constants as zlib, createGunzip, gunzipSync } from 'node:zlib';
import type { TerminalTap } from '../terminal/session.js';

const brotliCompress = promisify(brotliCompressCb);
const brotliDecompress = promisify(brotliDecompressCb);

/** The extension of the recordings this version writes. */
export const CAST_EXT = '.castev';

const STORED = 0x8000_0000;
/** Records: code, milliseconds, length. */
const RECORD_HEAD = 9;
const HEADER = 0x68; // 'h': the asciicast header's JSON

function segmentHead(length: number, stored: boolean): Buffer {
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE((length | (stored ? STORED : 0)) >>> 0, 0);
  return head;
}

/** The segments' bodies, one by one, as written; a segment cut short (a crash while writing) ends them. */
async function* segments(file: string): AsyncGenerator<Buffer> {
  const fh = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    for (let pos = 0; ; ) {
      if ((await fh.read(head, 0, 4, pos)).bytesRead < 4) return;
      const word = head.readUInt32BE(0);
      const body = Buffer.alloc(word & ~STORED);
      if ((await fh.read(body, 0, body.length, pos + 4)).bytesRead < body.length) return;
      pos += 4 + body.length;
      yield word & STORED ? body : await brotliDecompress(body);
    }
  } finally {
    await fh.close();
  }
}

/** Records back to asciicast lines: times that never go back, bytes split across records decoded whole. */
class CastReader {
  private readonly output = new Utf8Stream();
  private readonly input = new Utf8Stream();
  private lastMs = 0;

  lines(body: Buffer): string {
    let text = '';
    for (let pos = 0; pos + RECORD_HEAD <= body.length; ) {
      const code = body[pos]!;
      const ms = body.readUInt32BE(pos + 1);
      const end = Math.min(body.length, pos + RECORD_HEAD + body.readUInt32BE(pos + 5));
      const data = body.subarray(pos + RECORD_HEAD, end);
      pos = end;
      if (code === HEADER) {
        text += `${data.toString('utf8')}\n`;
        continue;
      }
      const raw = code === 0x6f ? this.output.decode(data) : code === 0x69 ? this.input.decode(data) : data.toString('utf8');
      if (raw === '') continue;
      this.lastMs = Math.max(this.lastMs, ms);
      text += `${JSON.stringify([this.lastMs / 1000, String.fromCharCode(code), raw])}\n`;
    }
    return text;
  }
}

/** A recording's file as the plain .cast text (a part cut short by a crash ends the text there). */
export function castStream(file: string): Readable {
  if (file.endsWith('.gz')) {
    const gunzip = createGunzip({ finishFlush: zlib.Z_SYNC_FLUSH });
    const stream = createReadStream(file);
    stream.on('error', (err) => gunzip.destroy(err));
    return stream.pipe(gunzip);
  }
  const legacy = file.endsWith('.cast.brs');
  return Readable.from(
    (async function* () {
      const reader = new CastReader();
      for await (const body of segments(file)) yield legacy ? body : Buffer.from(reader.lines(body));
    })(),
    { objectMode: false },
  );
}

/** The same at once, from the file's bytes (`name` tells the format). */
export function castText(data: Buffer, name: string): string {
  if (name.endsWith('.gz')) return gunzipSync(data, { finishFlush: zlib.Z_SYNC_FLUSH }).toString('utf8');
  const legacy = name.endsWith('.cast.brs');
  const reader = new CastReader();
  let text = '';
  for (let pos = 0; pos + 4 <= data.length; ) {
    const word = data.readUInt32BE(pos);
    const end = pos + 4 + (word & ~STORED);
    if (end > data.length) break;
    const body = data.subarray(pos + 4, end);
    const plain = word & STORED ? body : brotliDecompressSync(body);
    text += legacy ? plain.toString('utf8') : reader.lines(plain);
    pos = end;
  }
  return text;
}

export interface CastHeader {
  version: 2;
  width: number;
  height: number;
  /** Unix time (seconds) of the start. */
  timestamp: number;
  env?: Record<string, string>;
  title?: string;
}

export type CastCode = 'o' | 'i' | 'r' | 'm';

export interface CastRecorderOptions {
  file: string;
  cols: number;
  rows: number;
  title?: string;
  /** Gather this long before writing. */
  flushMs?: number;
  /** Write sooner once this many bytes wait. */
  flushBytes?: number;
  /** Compressed bytes this recording may reach; then it stops, with a marker saying so. */
  maxBytes: number;
  /**
   * Asked before each write with the compressed size it adds: false stops the
   * recording (the learner's share is spent); it hears the same again once written.
   */
  budget?: (bytes: number) => boolean;
  /**
   * The terminal's mirror reports its parse (`mirrored`): a flood's segment
   * waits for the mirror to pass it (MIRROR_WAIT_MS at most) and leaves out
   * the lines it skipped as ones that could only scroll away.
   */
  mirrored?: boolean;
  /** After each write, with the size so far. */
  onWritten?: (bytes: number) => void;
  onError?: (err: unknown) => void;
  now?: () => number;
}

/** Bytes waiting past this (a disk that does not keep up) are dropped, and the recording says so. */
const MAX_PENDING = 8 * 1024 * 1024;
/**
 * A flood's segment buffers, reused. Each batch is copied into the segment at
 * once, so the session's frames die young; a megabyte buffer made anew for
 * every segment would outlive the young generation during its write, and the
 * old one's collections came with it (V8's helper threads busy, the event
 * loop paused).
 */
const FLOOD_BUFFER = 1024 * 1024 + 64 * 1024 + 1024;
const spare: Buffer[] = [];
const release = (buf: Buffer) => {
  if (buf.length === FLOOD_BUFFER && spare.length < 4) spare.push(buf);
};
const EMPTY: Buffer = Buffer.alloc(0);
/** A segment this big is a flood's (a typical second of typing is a few KiB). */
const FLOOD_SEGMENT = 256 * 1024;
/** How many of a flood's segments are stored as is before compression is tried again. */
const STORE_RUN = 8;
/** How long a flood's segment waits for the mirror to parse it before it is written whole. */
const MIRROR_WAIT_MS = 3000;

/** A segment's records, and the output's offsets they cover. */
interface Taken {
  body: Buffer;
  buffer: Buffer;
  /** The output bytes noted before this segment's, and up to its end. */
  outFrom: number;
  outTo: number;
}

export class CastRecorder implements TerminalTap {
  readonly startedAt = Date.now();
  private readonly t0: number;
  private readonly now: () => number;
  /** The segment being gathered: records, `used` bytes of it. */
  private seg: Buffer = EMPTY;
  private used = 0;
  /** The size the last segment reached: a flood's next one starts at a flood's buffer. */
  private lastUsed = 0;
  /** Bytes of segments gathered and waiting for their write. */
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain = Promise.resolve();
  private written = 0;
  private lastMs = 0;
  /** The file, open for appending from the first write to the end (not opened per write: the event loop's part of a flood's recording was a fifth that). */
  private file: Promise<FileHandle> | undefined;
  /** Segments of this flood still to be stored as is, brotli having barely shrunk the last one tried. */
  private storeNext = 0;
  /** Output bytes noted so far (recorded or not), and where the segment being gathered began. */
  private outAt = 0;
  private segOut = 0;
  /** How far the mirror has parsed, the parts it skipped not yet written past, and who waits for it. */
  private mirroredTo = 0;
  private skips: Array<readonly [number, number]> = [];
  /**
   * The skips the last segment left out up to its end and that go on past it.
   * Only these may cut the next one from its start: a skip heard of after the
   * segment its start fell in was written whole (the mirror was late, or that
   * segment was no flood's) would cut the stream mid-line, so it is cut from
   * the first line that starts in the segment.
   */
  private continuing: Array<readonly [number, number]> = [];
  private waiting: Array<{ upTo: number; resolve: () => void }> = [];
  private stoppedWhy: string | undefined;
  private ended = false;
  private discarded = false;
  private readonly flushMs: number;
  private readonly flushBytes: number;

  constructor(private readonly options: CastRecorderOptions) {
    this.now = options.now ?? (() => performance.now());
    this.t0 = this.now();
    this.flushMs = options.flushMs ?? 1000;
    this.flushBytes = options.flushBytes ?? 1024 * 1024;
    const header: CastHeader = {
      version: 2,
      width: options.cols,
      height: options.rows,
      timestamp: Math.floor(this.startedAt / 1000),
      env: { TERM: 'xterm-256color', SHELL: '/bin/bash' },
      ...(options.title ? { title: options.title } : {}),
    };
    this.record(HEADER, Buffer.from(JSON.stringify(header)));
    this.queue(this.take(), true);
  }

  /** Compressed bytes written so far. */
  get bytes(): number {
    return this.written;
  }

  /** Why it stopped early, if it did. */
  get stopped(): string | undefined {
    return this.stoppedWhy;
  }

  output(data: Uint8Array): void {
    // counted first: noting it may end the segment, which must cover it
    this.outAt += data.length;
    this.note('o', data);
  }

  /** The mirror's progress (MirrorProgress): what a flood's segments may leave out. */
  mirrored(upTo: number, skip?: readonly [number, number]): void {
    if (skip && this.options.mirrored) this.skips.push(skip);
    this.mirroredTo = Math.max(this.mirroredTo, upTo);
    this.waiting = this.waiting.filter((w) => (w.upTo <= this.mirroredTo ? (w.resolve(), false) : true));
  }

  input(data: Uint8Array): void {
    this.note('i', data);
  }

  resize(cols: number, rows: number): void {
    this.note('r', Buffer.from(`${cols}x${rows}`));
  }

  /** A marker at this moment (asciicast "m"), such as a check's verdict. */
  mark(label: string): void {
    this.note('m', Buffer.from(label));
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    void this.flush();
  }

  /** Stops at once and writes nothing more (its file is being removed). */
  discard(): void {
    this.discarded = this.ended = true;
    clearTimeout(this.timer);
    release(this.take().buffer);
    this.chain = this.chain.then(() => this.close());
  }

  /** Resolves once everything noted so far is on disk. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.used > 0) this.queue(this.take());
    // a write may queue one more (the stop marker)
    let last: Promise<void>;
    do {
      last = this.chain;
      await last;
    } while (last !== this.chain);
    if (this.ended) await this.close();
  }

  private note(code: CastCode, data: Uint8Array): void {
    if (this.stoppedWhy || this.ended) return;
    if (this.queued + this.used + data.length > MAX_PENDING) {
      this.stop('the disk did not keep up; recording stopped');
      return;
    }
    this.record(code.charCodeAt(0), data);
    if (this.used >= this.flushBytes) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  private stop(why: string): void {
    if (this.stoppedWhy) return;
    this.stoppedWhy = why;
    this.record(0x6d, Buffer.from(why));
    this.queue(this.take(), true);
  }

  /** Appends a record to the segment being gathered; times never go back. */
  private record(code: number, data: Uint8Array): void {
    const need = RECORD_HEAD + data.length;
    if (this.used + need > this.seg.length) {
      // grows by doubling from 4 KiB (a typing learner's second) to a flood's pooled buffer,
      // where a flood's next segment starts (doubling again would copy each megabyte twice)
      const grown = this.lastUsed >= FLOOD_SEGMENT ? FLOOD_BUFFER : Math.min(FLOOD_BUFFER, Math.max(4096, 2 * this.seg.length));
      const size = Math.max(this.used + need, grown);
      const next = size === FLOOD_BUFFER ? (spare.pop() ?? Buffer.allocUnsafe(size)) : Buffer.allocUnsafe(size);
      this.seg.copy(next, 0, 0, this.used);
      release(this.seg);
      this.seg = next;
    }
    this.lastMs = Math.max(this.lastMs, Math.round(this.now() - this.t0));
    const at = this.used;
    this.seg[at] = code;
    this.seg.writeUInt32BE(this.lastMs, at + 1);
    this.seg.writeUInt32BE(data.length, at + 5);
    this.seg.set(data, at + RECORD_HEAD);
    this.used += need;
  }

  /** The segment gathered so far (its buffer to be released once written); a new one begins. */
  private take(): Taken {
    const taken = { body: this.seg.subarray(0, this.used), buffer: this.seg, outFrom: this.segOut, outTo: this.outAt };
    this.segOut = this.outAt;
    this.lastUsed = this.used;
    this.seg = EMPTY;
    this.used = 0;
    return taken;
  }

  private queue(segment: Taken, unconditional = false): void {
    this.queued += segment.body.length;
    this.chain = this.chain.then(() => this.write(segment, unconditional));
  }

  /** A flood's records less what the mirror skipped of them, once it has parsed them (or waited long enough). */
  private async elide({ body, outFrom, outTo }: Taken): Promise<Buffer> {
    if (this.mirroredTo < outTo) {
      await new Promise<void>((resolve) => {
        const waiter = { upTo: outTo, resolve: () => (clearTimeout(timer), resolve()) };
        const timer = setTimeout(() => {
          this.waiting = this.waiting.filter((w) => w !== waiter);
          resolve();
        }, MIRROR_WAIT_MS);
        this.waiting.push(waiter);
      });
    }
    const skips: Array<readonly [number, number]> = [];
    const continuing: Array<readonly [number, number]> = [];
    let lineStart: number | undefined;
    for (const skip of this.skips) {
      if (skip[1] <= outFrom || skip[0] >= outTo) continue;
      let cut = skip;
      if (skip[0] < outFrom && !this.continuing.includes(skip)) {
        // its start was written: what is left of it is plain text too, so it may be cut from a line's start on
        lineStart ??= firstLineStart(body, outFrom);
        if (lineStart >= skip[1]) continue;
        cut = [lineStart, skip[1]];
      }
      skips.push(cut);
      if (skip[1] > outTo) continuing.push(skip);
    }
    this.continuing = continuing;
    if (skips.length === 0) return body;
    const kept: Buffer[] = [];
    for (let pos = 0, at = outFrom; pos + RECORD_HEAD <= body.length; ) {
      const length = body.readUInt32BE(pos + 5);
      const record = body.subarray(pos, pos + RECORD_HEAD + length);
      pos += record.length;
      if (record[0] !== 0x6f) {
        kept.push(record);
        continue;
      }
      // the record's output is [at, at + length): keep what no skip covers, each piece a record of its own time
      const start = at;
      at += length;
      const piece = (from: number, to: number) => {
        if (to <= from) return;
        const head = Buffer.from(record.subarray(0, RECORD_HEAD));
        head.writeUInt32BE(to - from, 5);
        kept.push(head, record.subarray(RECORD_HEAD + from - start, RECORD_HEAD + to - start));
      };
      let from = start;
      for (const [s, e] of skips) {
        if (e <= from || s >= at) continue;
        piece(from, s);
        from = Math.max(from, e);
      }
      piece(from, at);
    }
    return Buffer.concat(kept);
  }

  /** The segment of these records: compressed, unless this flood's last try showed it not worth it. */
  private async segment(body: Buffer, flood: boolean): Promise<[head: Buffer, body: Buffer]> {
    if (!flood) this.storeNext = 0; // the flood is over
    if (this.storeNext > 0) {
      this.storeNext--;
      return [segmentHead(body.length, true), body];
    }
    const packed = await brotliCompress(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 1, [zlib.BROTLI_PARAM_SIZE_HINT]: body.length } });
    if (packed.length > 0.75 * body.length && flood) this.storeNext = STORE_RUN;
    return packed.length < body.length ? [segmentHead(packed.length, false), packed] : [segmentHead(body.length, true), body];
  }

  private async close(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    await (await file?.catch(() => undefined))?.close().catch(() => {});
  }

  /** Appends one segment; events (not the header or the stop marker) only while the caps allow. */
  private async write(taken: Taken, unconditional = false): Promise<void> {
    const { body, buffer } = taken;
    try {
      if (body.length === 0 || this.discarded) return;
      const flood = body.length >= FLOOD_SEGMENT;
      let records = body;
      if (flood && this.options.mirrored) records = await this.elide(taken);
      else this.continuing = []; // written whole
      // what the mirror skipped before this segment's end can concern no later one
      this.skips = this.skips.filter(([, end]) => end > taken.outTo);
      const segment = await this.segment(records, flood);
      const size = segment[0].length + segment[1].length;
      if (!unconditional) {
        if (this.stoppedWhy) return;
        if (this.written + size > this.options.maxBytes) return this.stop(`this terminal's recording reached its size cap (${this.options.maxBytes} bytes); recording stopped`);
        if (this.options.budget && !this.options.budget(size)) return this.stop("the learner's recordings reached their size cap; recording stopped");
      }
      if (this.discarded) return;
      const fh = await (this.file ??= fs.open(this.options.file, 'a', 0o600));
      const { bytesWritten } = await fh.writev(segment);
      this.written += bytesWritten;
      if (bytesWritten < size) {
        // a full disk: what follows a segment cut short could not be read, so nothing follows it
        this.stoppedWhy = 'the disk is full; recording stopped';
        throw new Error(`recording ${this.options.file}: ${bytesWritten} of ${size} bytes written`);
      }
      this.options.onWritten?.(this.written);
    } catch (err) {
      this.options.onError?.(err);
    } finally {
      this.queued -= body.length;
      release(buffer);
    }
  }
}

/**
 * UTF-8 to text across batches: a sequence a batch ends inside waits for the
 * next one. Buffer's decoder, many times faster on ASCII than TextDecoder's
 * streaming mode; invalid bytes become U+FFFD as there.
 */
export class Utf8Stream {
  private carry: Uint8Array | undefined;

  decode(data: Uint8Array): string {
    let bytes = data;
    if (this.carry) {
      bytes = new Uint8Array(this.carry.length + data.length);
      bytes.set(this.carry, 0);
      bytes.set(data, this.carry.length);
      this.carry = undefined;
    }
    const cut = bytes.length - incompleteTail(bytes);
    if (cut < bytes.length) this.carry = bytes.slice(cut);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8', 0, cut);
  }
}

/** How many bytes at the end begin a UTF-8 sequence that the next bytes may finish. */
function incompleteTail(bytes: Uint8Array): number {
  for (let i = bytes.length - 1; i >= 0 && i >= bytes.length - 3; i--) {
    const b = bytes[i]!;
    if (b < 0x80) return 0;
    if (b < 0xc0) continue; // a continuation byte: look further back
    const need = b >= 0xf5 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
    return bytes.length - i < need ? bytes.length - i : 0;
  }
  return 0;
}

/** What is wrong with a .cast's text by the asciicast v2 rules, or [] (header, event lines, times that never go back). */
export function castProblems(text: string): string[] {
  const problems: string[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let header: Partial<CastHeader>;
  try {
    header = JSON.parse(lines[0] ?? '') as Partial<CastHeader>;
  } catch {
    return ['the first line is not a JSON header'];
  }
  if (header.version !== 2) problems.push('the header has no "version": 2');
  if (!Number.isInteger(header.width) || header.width! <= 0) problems.push('the header has no positive integer width');
  if (!Number.isInteger(header.height) || header.height! <= 0) problems.push('the header has no positive integer height');
  if (header.timestamp !== undefined && !Number.isInteger(header.timestamp)) problems.push('the header timestamp is not an integer');
  let last = 0;
  lines.slice(1).forEach((line, i) => {
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      return problems.push(`line ${i + 2} is not JSON`);
    }
    if (!Array.isArray(event) || event.length !== 3 || typeof event[0] !== 'number' || typeof event[1] !== 'string' || typeof event[2] !== 'string') return problems.push(`line ${i + 2} is not [time, code, data]`);
    if (event[0] < last) problems.push(`line ${i + 2} goes back in time (${event[0]} < ${last})`);
    if (event[1] === 'r' && !/^\d+x\d+$/.test(event[2] as string)) problems.push(`line ${i + 2}: a resize is "COLSxROWS"`);
    last = event[0];
  });
  return problems;
}

/** The output offset right after the first CR LF of a segment's records (`outFrom`: its first output byte), or Infinity. */
function firstLineStart(body: Buffer, outFrom: number): number {
  let prev = -1;
  for (let pos = 0, at = outFrom; pos + RECORD_HEAD <= body.length; ) {
    const length = body.readUInt32BE(pos + 5);
    if (body[pos] === 0x6f) {
      for (let i = 0; i < length; i++) {
        const b = body[pos + RECORD_HEAD + i]!;
        if (b === 0x0a && prev === 0x0d) return at + i + 1;
        prev = b;
      }
      at += length;
    }
    pos += RECORD_HEAD + length;
  }
  return Infinity;
}
