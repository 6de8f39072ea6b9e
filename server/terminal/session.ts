// One terminal: a shell on a pty in a sandbox, the clients watching it, and
// the flow of bytes between them.
//
// Output: pty chunks are batched for a few milliseconds (never after a
// keystroke: echo goes out at once), then each batch goes to every viewer as
// one frame, to the headless mirror (for reattaching clients) and to a short
// history (for clients resuming after a dropped connection).
//
// Flow control (the xterm.js flow-control guide): each viewer acknowledges the
// output bytes its xterm.js has processed. The pty is paused while the
// writer's unacknowledged bytes, or the mirror's unparsed bytes, are above a
// high watermark, and resumed below a low one. A read-only viewer never
// pauses the pty: one that falls too far behind stops getting output and,
// once it has caught up with what it was sent, gets a fresh snapshot instead.
import { CommandActivity, type CommandSettled } from './activity.js';
import { OutputHistory } from './history.js';
import { Emitter, type Disposable } from '../lifecycle.js';
import type { Mirror, MirrorProgress } from './mirror.js';
import { allocOutputFrame, encodeServer, sizeError, type ErrorCode, type ServerControl } from './protocol.js';
import type { SandboxPty } from '../sandbox/driver.js';

export interface FlowLimits {
  /** Pause the pty when the writer has this many output bytes unacknowledged... */
  high: number;
  /** ...and resume it once it is down to this many. */
  low: number;
  /** Pause the pty when the mirror has this many bytes unparsed, resume at `mirrorLow`. */
  mirrorHigh: number;
  mirrorLow: number;
  /** A read-only viewer this far behind stops getting output until it catches up and resyncs. */
  viewerLag: number;
  /** Output is sent in batches gathered over this long (unless the writer has nearly nothing to process)... */
  batchMs: number;
  /** ...or as soon as a batch holds this many bytes. */
  maxBatch: number;
  /** After input, output goes out unbatched for this long (and the first output after it anyway): it is the echo. */
  echoWindowMs: number;
  /** Bytes of recent output kept for clients that resume. */
  history: number;
}

export const DEFAULT_FLOW: FlowLimits = {
  high: 512 * 1024,
  low: 256 * 1024,
  mirrorHigh: 1024 * 1024,
  mirrorLow: 256 * 1024,
  viewerLag: 1024 * 1024,
  batchMs: 4,
  maxBatch: 64 * 1024,
  echoWindowMs: 10,
  history: 256 * 1024,
};

export const MAX_VIEWERS = 16;

/** A refusal the client should hear about; `fatal` ones end the connection. */
export class TerminalError extends Error {
  constructor(readonly code: ErrorCode | 'too-many-terminals', message: string, readonly fatal = false) {
    super(message);
    this.name = 'TerminalError';
  }
}

/** Where a viewer's frames go (a WebSocket, in practice). */
export interface ViewerSink {
  send(frame: Uint8Array): void;
  close(code: number, reason: string): void;
}

export interface AttachOptions {
  /** The client's terminal size, applied when it gets the writer role. */
  cols: number;
  rows: number;
  /** The output offset the client already has: it gets only what came after, if still held. */
  resume?: number;
  /** May this viewer hold the writer role (type and resize)? */
  mayWrite: boolean;
  /** Take the writer role now (needs mayWrite). */
  takeWriter: boolean;
}

export class Viewer {
  private static next = 1;
  readonly id = Viewer.next++;
  /** syncing: waiting for a snapshot (frames queue); lagging: dropped behind, gets nothing until it catches up. */
  state: 'syncing' | 'live' | 'lagging' | 'detached' = 'syncing';
  /** Output bytes sent (or queued) and not yet acknowledged. */
  unacked = 0;
  queue: Uint8Array[] = [];
  /** How often it fell behind and was resynced with a snapshot. */
  resyncs = 0;

  constructor(readonly sink: ViewerSink, readonly mayWrite: boolean) {}
}

export interface TerminalInfo {
  id: string;
  sandboxId: string;
  cols: number;
  rows: number;
  createdAt: number;
  viewers: number;
  ended: boolean;
}

export interface TerminalExit {
  code: number;
  signal?: number;
}

/**
 * Hears a terminal's traffic as the learner saw it: each output batch (as the
 * viewers and the mirror get it), the writer's input, every size change, the
 * end. Called on the data path: it must only take note (a recorder copies
 * the batch and writes later, off this path).
 */
export interface TerminalTap {
  output(data: Uint8Array): void;
  input(data: Uint8Array): void;
  resize(cols: number, rows: number): void;
  end(): void;
  /** The mirror's parse of the same output (offsets count the output's bytes): what of a flood a recording may leave out. */
  mirrored?: MirrorProgress;
}

export interface TerminalSessionOptions {
  id: string;
  sandboxId: string;
  pty: SandboxPty;
  cols: number;
  rows: number;
  mirror: Mirror;
  flow?: Partial<FlowLimits>;
  settleMs?: number;
  /** Hears the learner's input (to keep the sandbox from the idle reaper). */
  onInput?: () => void;
  /** Output came from the shell (a long job printing is the learner's use too). */
  onOutput?: () => void;
  onError?: (err: unknown) => void;
  /** Hears the traffic (a recording). */
  tap?: TerminalTap;
}

const encoder = new TextEncoder();
const control = (msg: ServerControl) => encodeServer(msg);

export class TerminalSession {
  readonly id: string;
  readonly sandboxId: string;
  readonly createdAt = Date.now();
  cols: number;
  rows: number;
  /** Resolves when the shell has ended (and every viewer was told). */
  readonly exited: Promise<TerminalExit>;

  private readonly pty: SandboxPty;
  private readonly mirror: Mirror;
  private readonly tap: TerminalTap | undefined;
  private readonly flow: FlowLimits;
  private readonly history: OutputHistory;
  private readonly activity: CommandActivity;
  private readonly viewers = new Set<Viewer>();
  private writerViewer: Viewer | undefined;
  /** Who typed before the role was taken from them (an instructor's takeover): they get it back when the taker leaves. */
  private returnTo: Viewer | undefined;
  /** Output bytes flushed so far: the offset of the next byte. */
  private offset = 0;
  /** The offset at the last change of size: before it, the output was written at another size. */
  private resizedAt = 0;
  private batch: Buffer[] = [];
  private batchSize = 0;
  private batchTimer: NodeJS.Timeout | undefined;
  private eagerUntil = 0;
  private echoPending = false;
  private paused = false;
  private exit: TerminalExit | undefined;
  private readonly syncs = new Set<Promise<void>>();
  private readonly viewerCount: Emitter<number>;
  private readonly ended: Emitter<TerminalExit>;
  private finish!: (exit: TerminalExit) => void;
  private readonly disposables: Disposable[] = [];

  constructor(private readonly options: TerminalSessionOptions) {
    this.id = options.id;
    this.sandboxId = options.sandboxId;
    this.cols = options.cols;
    this.rows = options.rows;
    this.pty = options.pty;
    this.mirror = options.mirror;
    this.tap = options.tap;
    this.flow = { ...DEFAULT_FLOW, ...options.flow };
    this.history = new OutputHistory(this.flow.history);
    this.activity = new CommandActivity({ ...(options.settleMs !== undefined ? { settleMs: options.settleMs } : {}) }, options.onError);
    this.viewerCount = new Emitter(options.onError);
    this.ended = new Emitter(options.onError);
    this.exited = new Promise((resolve) => (this.finish = resolve));
    this.mirror.onParsed = () => {
      if (this.paused) this.updateFlow();
    };
    if (this.tap?.mirrored) this.mirror.onProgress = this.tap.mirrored.bind(this.tap);
    this.disposables.push(
      this.pty.onData((chunk) => this.onPtyData(chunk)),
      this.pty.onExit((e) => void this.onPtyExit(e)),
    );
  }

  /** The host pid of the pty's process, which leads the terminal's process session. */
  get pid(): number {
    return this.pty.pid;
  }

  get isEnded(): boolean {
    return this.exit !== undefined;
  }

  get writer(): Viewer | undefined {
    return this.writerViewer;
  }

  /** Output bytes so far. */
  get outputOffset(): number {
    return this.offset;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Output bytes the mirror has yet to parse. */
  get mirrorBacklog(): number {
    return this.mirror.pending;
  }

  info(): TerminalInfo {
    return { id: this.id, sandboxId: this.sandboxId, cols: this.cols, rows: this.rows, createdAt: this.createdAt, viewers: this.viewers.size, ended: this.isEnded };
  }

  /** "A command the learner ran has settled" (see activity.ts). */
  onCommandSettled(listener: (e: CommandSettled) => void): Disposable {
    return this.activity.onSettled(listener);
  }

  /** A line the learner entered, as typed (see activity.ts). */
  onLine(listener: (line: string) => void): Disposable {
    return this.activity.onLine(listener);
  }

  /** Hears the number of viewers whenever it changes. */
  onViewers(listener: (count: number) => void): Disposable {
    return this.viewerCount.event(listener);
  }

  onEnded(listener: (exit: TerminalExit) => void): Disposable {
    return this.ended.event(listener);
  }

  get viewerList(): Viewer[] {
    return [...this.viewers];
  }

  // ---- viewers

  /** Adds a viewer: it is told what it is, then gets the screen (snapshot or resumed bytes), then live output. */
  attach(sink: ViewerSink, options: AttachOptions): Viewer {
    if (this.exit) throw new TerminalError('ended', 'this terminal has ended', true);
    if (this.viewers.size >= MAX_VIEWERS) throw new TerminalError('too-many-viewers', `a terminal has at most ${MAX_VIEWERS} viewers`, true);
    const viewer = new Viewer(sink, options.mayWrite);
    const writes = options.mayWrite && options.takeWriter;
    if (writes) {
      const bad = sizeError(options.cols, options.rows);
      if (bad) throw new TerminalError('bad-size', bad, true);
    }
    this.viewers.add(viewer);
    if (writes) {
      this.setWriter(viewer, false);
      this.applySize(options.cols, options.rows, viewer);
    }
    const missed = options.resume !== undefined ? this.history.since(options.resume) : undefined;
    sink.send(
      control({
        type: 'attached',
        terminal: this.id,
        sandbox: this.sandboxId,
        role: writes ? 'writer' : 'viewer',
        cols: this.cols,
        rows: this.rows,
        restore: missed ? 'resume' : 'snapshot',
        offset: missed ? options.resume! : this.offset,
      }),
    );
    if (missed) {
      viewer.state = 'live';
      if (missed.length > 0) this.sendOutput(viewer, encodeServer({ type: 'output', data: missed }), missed.length);
    } else {
      this.sync(viewer);
    }
    this.viewerCount.fire(this.viewers.size);
    if (writes) this.updateFlow();
    return viewer;
  }

  detach(viewer: Viewer): void {
    if (!this.viewers.delete(viewer)) return;
    viewer.state = 'detached';
    viewer.queue = [];
    if (this.returnTo === viewer) this.returnTo = undefined;
    if (this.writerViewer === viewer) {
      this.writerViewer = undefined;
      // the one who typed before gets the keyboard back, and their client fits the terminal to its own size again
      const back = this.returnTo;
      this.returnTo = undefined;
      if (back) this.setWriter(back, true);
    }
    this.updateFlow();
    this.viewerCount.fire(this.viewers.size);
  }

  /** Gives the writer role (typing, resizing) to `viewer`, or to nobody; the previous writer becomes a viewer. */
  grantWriter(viewer: Viewer | undefined): void {
    if (viewer && (!this.viewers.has(viewer) || !viewer.mayWrite)) throw new TerminalError('forbidden', 'this viewer may not type in this terminal');
    this.setWriter(viewer, true);
  }

  /** A viewer asks for the writer role. */
  take(viewer: Viewer): void {
    if (!viewer.mayWrite) throw new TerminalError('forbidden', 'you may watch this terminal but not type in it');
    this.setWriter(viewer, true);
  }

  private setWriter(viewer: Viewer | undefined, tellNew: boolean): void {
    const previous = this.writerViewer;
    if (previous === viewer) return;
    this.writerViewer = viewer;
    this.returnTo = viewer && previous?.mayWrite ? previous : undefined;
    if (previous) this.sendControl(previous, { type: 'role', role: 'viewer' });
    if (viewer && tellNew) this.sendControl(viewer, { type: 'role', role: 'writer' });
    this.updateFlow();
  }

  // ---- from a viewer

  input(viewer: Viewer, data: Uint8Array): void {
    if (this.exit) throw new TerminalError('ended', 'this terminal has ended', true);
    if (viewer !== this.writerViewer) throw new TerminalError('read-only', 'someone else is typing in this terminal; you are watching');
    this.activity.input(data);
    this.tap?.input(data);
    // what was printed before the keystroke goes first, and its echo right after
    this.flush();
    this.echoPending = true;
    this.eagerUntil = performance.now() + this.flow.echoWindowMs;
    this.pty.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    this.options.onInput?.();
  }

  resize(viewer: Viewer, cols: number, rows: number): void {
    if (this.exit) throw new TerminalError('ended', 'this terminal has ended', true);
    if (viewer !== this.writerViewer) throw new TerminalError('read-only', 'only the viewer who types may resize the terminal');
    const bad = sizeError(cols, rows);
    if (bad) throw new TerminalError('bad-size', bad);
    this.applySize(cols, rows, viewer);
  }

  ack(viewer: Viewer, bytes: number): void {
    if (bytes > viewer.unacked) throw new TerminalError('bad-frame', `acknowledged ${bytes} bytes but only ${viewer.unacked} were unacknowledged`, true);
    viewer.unacked -= bytes;
    if (viewer.state === 'lagging' && viewer.unacked === 0) this.sync(viewer);
    if (viewer === this.writerViewer) this.updateFlow();
  }

  // ---- ending

  /** Ends the shell and everything it started (SIGHUP, then SIGKILL after `graceMs`). */
  async end(graceMs = 2000): Promise<TerminalExit> {
    if (!this.exit) {
      // a paused pty would keep its last output (and its end) from being read
      if (this.paused) this.pty.resume();
      this.paused = false;
      await this.pty.terminate(graceMs);
      // the exit event follows the last process; should it not come, finish anyway
      const late = setTimeout(() => void this.onPtyExit({ exitCode: -1 }), 5000);
      await this.exited;
      clearTimeout(late);
    }
    return this.exited;
  }

  // ---- internals

  private applySize(cols: number, rows: number, from: Viewer | undefined): void {
    if (cols === this.cols && rows === this.rows) return;
    this.cols = cols;
    this.rows = rows;
    this.resizedAt = this.offset;
    try {
      this.pty.resize(cols, rows);
    } catch {
      // the pty closed under us: its exit event is on its way
    }
    this.mirror.resize(cols, rows);
    this.tap?.resize(cols, rows);
    for (const viewer of this.viewers) if (viewer !== from) this.sendControl(viewer, { type: 'resize', cols, rows });
  }

  private onPtyData(chunk: Buffer): void {
    this.activity.output();
    this.options.onOutput?.();
    this.batch.push(chunk);
    this.batchSize += chunk.length;
    // batch while the writer's xterm.js is busy; a writer running dry gets bytes at once
    const hungry = this.writerViewer !== undefined && this.writerViewer.unacked < this.flow.maxBatch;
    // the first output after a keystroke is its echo, however long the shell took to answer
    const echo = this.echoPending || performance.now() < this.eagerUntil;
    this.echoPending = false;
    if (hungry || echo || this.batchSize >= this.flow.maxBatch) this.flush();
    else this.batchTimer ??= setTimeout(() => this.flush(), this.flow.batchMs);
  }

  private flush(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    if (this.batchSize === 0) return;
    const size = this.batchSize;
    const frame = allocOutputFrame(size);
    let pos = 1;
    for (const chunk of this.batch) {
      frame.set(chunk, pos);
      pos += chunk.length;
    }
    this.batch = [];
    this.batchSize = 0;
    const payload = frame.subarray(1);
    this.offset += size;
    this.mirror.write(payload);
    this.history.append(payload);
    this.tap?.output(payload);
    for (const viewer of this.viewers) {
      if (viewer.state === 'lagging') continue;
      if (viewer.state === 'live' && viewer !== this.writerViewer && viewer.unacked >= this.flow.viewerLag) {
        viewer.state = 'lagging';
        viewer.resyncs++;
        continue;
      }
      this.sendOutput(viewer, frame, size);
    }
    this.updateFlow();
  }

  private sendOutput(viewer: Viewer, frame: Uint8Array, bytes: number): void {
    viewer.unacked += bytes;
    if (viewer.state === 'syncing') viewer.queue.push(frame);
    else viewer.sink.send(frame);
  }

  private sendControl(viewer: Viewer, msg: ServerControl): void {
    if (viewer.state === 'detached') return;
    // a lagging viewer's snapshot will carry the size
    if (viewer.state === 'lagging' && msg.type === 'resize') return;
    const frame = control(msg);
    if (viewer.state === 'syncing') viewer.queue.push(frame);
    else viewer.sink.send(frame);
  }

  /** Sends `viewer` the screen as the mirror has it now, then what it queued meanwhile. */
  private sync(viewer: Viewer): void {
    const offset = this.offset;
    const { cols, rows } = this;
    // While the history still holds every byte since the start, at one size, those bytes are the
    // screen (written into a blank terminal), exactly: no need to wait for the mirror, whose worker
    // runs at idle priority and gets no CPU at all while the machine is busy (a fresh terminal's
    // first viewer would see nothing until the load passed).
    const whole = this.resizedAt === 0 ? this.history.since(0) : undefined;
    if (whole) {
      viewer.state = 'live';
      viewer.sink.send(encodeServer({ type: 'snapshot', offset, cols, rows, data: whole }));
      if (this.exit) viewer.sink.close(1000, 'the terminal ended');
      return;
    }
    viewer.state = 'syncing';
    const done = this.mirror.snapshot().then(
      (text) => {
        this.syncs.delete(done);
        if (viewer.state !== 'syncing') return;
        viewer.sink.send(encodeServer({ type: 'snapshot', offset, cols, rows, data: encoder.encode(text) }));
        for (const frame of viewer.queue) viewer.sink.send(frame);
        viewer.queue = [];
        viewer.state = 'live';
        if (this.exit) viewer.sink.close(1000, 'the terminal ended');
      },
      () => {
        // the mirror said why (logged) and starts again: this viewer reconnects to a fresh snapshot
        this.syncs.delete(done);
        if (viewer.state !== 'syncing') return;
        this.detach(viewer);
        viewer.sink.close(1011, "the terminal's screen could not be restored; reconnect for a fresh one");
      },
    );
    this.syncs.add(done);
  }

  private updateFlow(): void {
    const writerLag = this.writerViewer?.unacked ?? 0;
    const mirrorLag = this.mirror.pending;
    if (this.exit) return;
    if (!this.paused) {
      if (writerLag > this.flow.high || mirrorLag > this.flow.mirrorHigh) {
        this.paused = true;
        this.pty.pause();
      }
    } else if (writerLag <= this.flow.low && mirrorLag <= this.flow.mirrorLow) {
      this.paused = false;
      this.pty.resume();
    }
  }

  private async onPtyExit(e: { exitCode: number; signal?: number }): Promise<void> {
    if (this.exit) return;
    this.flush();
    const exit: TerminalExit = { code: e.exitCode, ...(e.signal ? { signal: e.signal } : {}) };
    this.exit = exit;
    clearTimeout(this.batchTimer);
    this.activity.dispose();
    this.tap?.end();
    for (const d of this.disposables) d.dispose();
    for (const viewer of this.viewers) {
      this.sendControl(viewer, { type: 'exit', ...exit });
      // a viewer waiting for its snapshot is closed once it has it
      if (viewer.state !== 'syncing') viewer.sink.close(1000, 'the terminal ended');
    }
    await Promise.all(this.syncs);
    this.mirror.close();
    this.ended.fire(exit);
    this.finish(exit);
  }
}
