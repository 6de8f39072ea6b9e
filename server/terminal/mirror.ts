// Headless mirrors of terminals: each terminal's output is also parsed by a
// headless xterm.js, so a client that (re)attaches gets the screen and
// scrollback as they are now. The mirrors of all terminals live in one worker
// thread (mirror-worker.ts). A mirror counts the bytes it was given but has
// not parsed yet; the session pauses the pty when that grows, which bounds
// memory while nobody is watching.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DIST_DIR } from '../paths.js';

export type MirrorRequest =
  | { op: 'open'; id: number; generation: number; cols: number; rows: number; scrollback: number }
  | { op: 'write'; id: number; data: Uint8Array }
  | { op: 'resize'; id: number; cols: number; rows: number }
  | { op: 'snapshot'; id: number; request: number }
  | { op: 'close'; id: number };

export type MirrorReply =
  /** A batch of `bytes` parsed; `skipped` of them, from `from` on, were lines that could only scroll away. */
  | { op: 'parsed'; id: number; generation: number; bytes: number; skipped: number; from: number }
  | { op: 'snapshot'; id: number; request: number; data: string }
  /** The mirror broke (a snapshot, or the message `request` names, failed): it is started again blank. */
  | { op: 'failed'; id: number; request?: number; message: string };

/** The compiled worker: next to this file when running from dist/, else in dist/ (tests, tsx). */
function workerUrl(): URL {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return new URL('./mirror-worker.js', import.meta.url);
  const built = path.join(DIST_DIR, 'server', 'terminal', 'mirror-worker.js');
  if (!existsSync(built)) throw new Error(`${built} is missing: run "npm run build"`);
  return pathToFileURL(built);
}

export interface MirrorPoolOptions {
  /** Lines of scrollback each mirror keeps (and a reattaching client gets back). */
  scrollback: number;
  onError?: (err: Error) => void;
  /** The worker's module; the compiled mirror-worker.js unless told (a test's wrapper of it). */
  worker?: URL;
}

export class MirrorPool {
  private worker!: Worker;
  private readonly mirrors = new Map<number, Mirror>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: MirrorPoolOptions) {
    this.start();
  }

  private start(): void {
    // a small young generation: the worker allocates steadily while parsing floods, and RSS is
    // what a crowded server runs out of
    const worker = new Worker(this.options.worker ?? workerUrl(), { resourceLimits: { maxYoungGenerationSizeMb: 4 } });
    worker.unref();
    worker.on('message', (msg: MirrorReply) => this.mirrors.get(msg.id)?.receive(msg));
    worker.on('error', (err) => this.options.onError?.(err));
    worker.on('exit', () => {
      if (this.closed || this.worker !== worker) return;
      // the mirrors' screens died with the worker: start blank ones rather than lose terminals
      this.options.onError?.(new Error('the terminal mirror worker stopped; reattaching clients get a blank screen until new output'));
      this.start();
      for (const mirror of this.mirrors.values()) mirror.restart();
    });
    this.worker = worker;
  }

  /** @internal */
  post(msg: MirrorRequest): void {
    if (!this.closed) this.worker.postMessage(msg);
  }

  /** @internal */
  failed(err: Error): void {
    this.options.onError?.(err);
  }

  /** @internal */
  forget(id: number): void {
    this.mirrors.delete(id);
  }

  open(cols: number, rows: number): Mirror {
    const mirror = new Mirror(this, this.nextId++, cols, rows, this.options.scrollback);
    this.mirrors.set(mirror.id, mirror);
    return mirror;
  }

  get size(): number {
    return this.mirrors.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const mirror of this.mirrors.values()) mirror.restart();
    this.mirrors.clear();
    await this.worker.terminate();
  }
}

/**
 * The parse's progress: every byte written before `upTo` (counted from the
 * mirror's opening; Infinity once it will say no more) is parsed, and `skip`,
 * when given, is a part of them the mirror skipped as lines that could only
 * scroll away (elide.ts). Skipping the same bytes leaves any terminal of the
 * mirror's size and scrollback, fed the same stream, with the same buffer:
 * a recording may leave them out. Once the mirror was started again blank
 * (its worker died), it tells no more skips.
 */
export type MirrorProgress = (upTo: number, skip?: readonly [start: number, end: number]) => void;

export class Mirror {
  /** Bytes written but not parsed yet. */
  pending = 0;
  /** Bytes of floods the mirror skipped, as lines that could only scroll away (elide.ts). */
  skipped = 0;
  /** Called whenever `pending` drops. */
  onParsed: (() => void) | undefined;
  /** Follows the parse: see MirrorProgress. */
  onProgress: MirrorProgress | undefined;
  /** Bytes written since it opened, and how many of them the mirror has parsed. */
  private written = 0;
  private parsedTo = 0;
  /** Bumped when the mirror starts again blank: replies about the old one say nothing of the new. */
  private generation = 0;
  private cols: number;
  private rows: number;
  private requests = new Map<number, { resolve: (data: string) => void; reject: (err: Error) => void }>();
  private nextRequest = 1;
  private closed = false;

  constructor(private readonly pool: MirrorPool, readonly id: number, cols: number, rows: number, private readonly scrollback: number) {
    this.cols = cols;
    this.rows = rows;
    pool.post({ op: 'open', id, generation: 0, cols, rows, scrollback });
  }

  write(data: Uint8Array): void {
    if (this.closed || data.length === 0) return;
    // posted, not transferred: the worker gets a copy and `data` stays the WebSocket frames'
    // (`data` should be the most of its buffer: posting a view copies the whole buffer)
    this.pending += data.length;
    this.written += data.length;
    this.pool.post({ op: 'write', id: this.id, data });
  }

  resize(cols: number, rows: number): void {
    if (this.closed) return;
    this.cols = cols;
    this.rows = rows;
    this.pool.post({ op: 'resize', id: this.id, cols, rows });
  }

  /**
   * The screen and scrollback once everything written so far is parsed, as
   * text to write into a fresh terminal. Rejects if the mirror broke making
   * it; the mirror then starts again blank, so the next snapshot works.
   */
  snapshot(): Promise<string> {
    if (this.closed) return Promise.resolve('');
    const request = this.nextRequest++;
    return new Promise((resolve, reject) => {
      this.requests.set(request, { resolve, reject });
      this.pool.post({ op: 'snapshot', id: this.id, request });
    });
  }

  /** @internal */
  receive(msg: MirrorReply): void {
    if (msg.op === 'parsed') {
      this.pending = Math.max(0, this.pending - msg.bytes);
      this.skipped += msg.skipped;
      if (msg.generation === this.generation) {
        const start = this.parsedTo;
        this.parsedTo += msg.bytes;
        // a mirror started again blank no longer holds the stream's state: its skips are its own
        const exact = msg.skipped > 0 && this.generation === 0;
        this.onProgress?.(this.parsedTo, exact ? [start + msg.from, start + msg.from + msg.skipped] : undefined);
      }
      this.onParsed?.();
    } else if (msg.op === 'snapshot') {
      const waiting = this.requests.get(msg.request);
      this.requests.delete(msg.request);
      waiting?.resolve(msg.data);
    } else {
      const err = new Error(`terminal mirror ${this.id} failed: ${msg.message}`);
      this.pool.failed(err);
      // whoever waits on this mirror hears why; the screen it held is lost, the terminal is not
      for (const waiting of this.requests.values()) waiting.reject(err);
      this.requests.clear();
      this.restart();
    }
  }

  /** @internal The worker was replaced: start blank, and let nobody wait for the old one. */
  restart(): void {
    for (const waiting of this.requests.values()) waiting.resolve('');
    this.requests.clear();
    this.pending = 0;
    // what was written before is lost unparsed: nothing of it was skipped
    this.generation++;
    this.parsedTo = this.written;
    if (!this.closed) this.pool.post({ op: 'open', id: this.id, generation: this.generation, cols: this.cols, rows: this.rows, scrollback: this.scrollback });
    this.onProgress?.(this.closed ? Infinity : this.parsedTo);
    this.onParsed?.();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const waiting of this.requests.values()) waiting.resolve('');
    this.requests.clear();
    this.pool.post({ op: 'close', id: this.id });
    this.pool.forget(this.id);
    this.onProgress?.(Infinity);
  }
}
