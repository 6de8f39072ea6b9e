// Every terminal of a lesson sandbox recorded (cast.ts), and the learner's
// timeline beside it (store/recordings.ts): who is recorded (`mode`), where
// the files go, the caps (per terminal, per learner: their oldest recordings
// go first) and the retention period (swept hourly), and removal when the
// learner asks. Knows terminals by their tap and learners by the bus; who may
// see a recording is decided by the routes (http/ownership.ts).
import { randomBytes } from 'node:crypto';
import { mkdirSync, promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { markerLabel, type ReplayJson } from '../contracts/recordings.js';
import type { LearnerBus, LearnerEvent } from '../events.js';
import { DisposableStore } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import { RecordingStore, type NewTimelineEntry, type RecordingRow } from '../store/recordings.js';
import type { TerminalTap } from '../terminal/session.js';
import { CAST_EXT, CastRecorder, castStream } from './cast.js';

export type RecordMode = 'all' | 'workshops' | 'none';

export interface RecordingsOptions {
  db: Db;
  bus: LearnerBus;
  dir: string;
  mode: RecordMode;
  terminalBytes: number;
  learnerBytes: number;
  retentionMs: number;
  /** The learner and lesson a sandbox serves, or undefined for one that is no lesson's (a bare sandbox is not recorded). */
  lessonOf: (sandboxId: string) => { learnerId: string; lessonId: string } | undefined;
  /** Is the learner in a workshop now (mode "workshops")? */
  inWorkshop: (learnerId: string) => boolean;
  sweepEveryMs?: number;
  flushMs?: number;
  log?: Logger;
  now?: () => number;
}

interface Live {
  row: RecordingRow;
  recorder: CastRecorder;
  /** Bytes already counted in the learner's usage. */
  counted: number;
}

export class Recordings {
  readonly store: RecordingStore;
  private readonly live = new Map<string, Live>();
  private readonly usage = new Map<string, number>();
  private readonly subscriptions = new DisposableStore();
  private readonly sweeper: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(private readonly options: RecordingsOptions) {
    this.store = new RecordingStore(options.db);
    this.now = options.now ?? Date.now;
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    this.subscriptions.add(options.bus.on((e) => this.onEvent(e)));
    this.subscriptions.add(
      options.bus.onNotified(({ learnerId, notice }) => {
        if (notice.type === 'message') this.note({ learnerId, at: notice.at, kind: 'message', text: notice.text });
        else if (notice.type === 'takeover') this.note({ learnerId, at: notice.at, kind: 'takeover', status: notice.active ? 'on' : 'off' });
      }),
    );
    this.closeUnfinished();
    this.sweeper = setInterval(() => void this.sweep(), options.sweepEveryMs ?? 3_600_000);
    this.sweeper.unref();
    void this.sweep();
  }

  get mode(): RecordMode {
    return this.options.mode;
  }

  /** Is this learner's work recorded? */
  records(learnerId: string): boolean {
    return this.options.mode === 'all' || (this.options.mode === 'workshops' && this.options.inWorkshop(learnerId));
  }

  /** The tap that records a new terminal, if its sandbox is a recorded learner's lesson sandbox. */
  open(terminal: { id: string; sandboxId: string; cols: number; rows: number }): TerminalTap | undefined {
    const lesson = this.options.lessonOf(terminal.sandboxId);
    if (!lesson || !this.records(lesson.learnerId)) return undefined;
    const id = `rec-${randomBytes(8).toString('hex')}`;
    const row: RecordingRow = { id, learnerId: lesson.learnerId, lessonId: lesson.lessonId, terminalId: terminal.id, file: `${id}${CAST_EXT}`, cols: terminal.cols, rows: terminal.rows, startedAt: this.now(), endedAt: null, bytes: 0, stopped: null };
    const log = this.options.log?.child({ recording: id, terminal: terminal.id });
    const recorder = new CastRecorder({
      file: this.fileOf(row),
      cols: terminal.cols,
      rows: terminal.rows,
      title: lesson.lessonId,
      maxBytes: this.options.terminalBytes,
      mirrored: true,
      ...(this.options.flushMs !== undefined ? { flushMs: this.options.flushMs } : {}),
      budget: (bytes) => this.room(lesson.learnerId, bytes),
      onWritten: (bytes) => {
        const live = this.live.get(id);
        if (!live) return;
        this.usage.set(lesson.learnerId, this.usageOf(lesson.learnerId) + bytes - live.counted);
        live.counted = bytes;
      },
      onError: (err) => log?.error({ err }, 'recording write failed'),
    });
    row.startedAt = recorder.startedAt;
    this.store.add(row);
    const live: Live = { row, recorder, counted: 0 };
    this.live.set(id, live);
    log?.info({ learner: lesson.learnerId, lesson: lesson.lessonId }, 'recording started');
    const done = () => {
      void recorder.flush().then(() => {
        if (this.live.get(id) !== live) return;
        this.live.delete(id);
        this.store.update(id, recorder.bytes, this.now(), recorder.stopped);
      });
    };
    return {
      output: (data) => recorder.output(data),
      input: (data) => recorder.input(data),
      resize: (cols, rows) => recorder.resize(cols, rows),
      mirrored: (upTo, skip) => recorder.mirrored(upTo, skip),
      end: () => {
        recorder.end();
        done();
      },
    };
  }

  /** The recording, once what it has gathered so far is on disk (a live one is read as far as it goes). */
  async get(id: string): Promise<RecordingRow | undefined> {
    const live = this.live.get(id);
    if (live) {
      await live.recorder.flush();
      return { ...live.row, bytes: live.recorder.bytes, stopped: live.recorder.stopped ?? null };
    }
    return this.store.get(id);
  }

  /** A learner's recordings, newest first. */
  of(learnerId: string): RecordingRow[] {
    return this.store.of(learnerId).map((r) => {
      const live = this.live.get(r.id);
      return live ? { ...r, bytes: live.recorder.bytes, stopped: live.recorder.stopped ?? null } : r;
    });
  }

  /** The plain .cast text of a recording (a part cut short by a crash ends the text there). */
  cast(row: RecordingRow): Readable {
    return castStream(this.fileOf(row));
  }

  /** The recording with its markers (the timeline of its lesson while it ran) and the commands typed in it with their verdicts. */
  replay(row: RecordingRow, castUrl: string): ReplayJson {
    const end = row.endedAt ?? this.now();
    const time = (at: number) => Math.max(0, (at - row.startedAt) / 1000);
    const markers = this.store
      .timeline(row.learnerId, row.startedAt, end, row.lessonId)
      .flatMap((entry) => {
        const label = markerLabel(entry);
        return label ? [{ time: time(entry.at), label, entry }] : [];
      });
    const commands = this.store.commands(row.learnerId, row.terminalId).map((c) => ({ ...c, time: time(c.at) }));
    const { learnerId: _learner, file: _file, ...recording } = row;
    return { recording, cast: castUrl, markers, commands };
  }

  /** Removes a recording and its file (the learner asked, a cap, the retention period). */
  async remove(id: string): Promise<void> {
    const live = this.live.get(id);
    if (live) {
      live.recorder.discard();
      this.live.delete(id);
    }
    const row = live?.row ?? this.store.get(id);
    if (!row) return;
    this.store.remove(id);
    this.usage.delete(row.learnerId); // recounted from the store on next need
    await fs.rm(this.fileOf(row), { force: true });
  }

  /** Removes all a learner's recordings and their timeline (they asked). */
  async removeLearner(learnerId: string): Promise<void> {
    for (const r of this.store.of(learnerId)) await this.remove(r.id);
    this.store.forgetLearner(learnerId);
  }

  /** Removes what is older than the retention period; returns how many recordings went. */
  async sweep(): Promise<number> {
    const before = this.now() - this.options.retentionMs;
    const old = this.store.endedBefore(before);
    for (const r of old) await this.remove(r.id);
    this.store.forgetBefore(before);
    if (old.length) this.options.log?.info({ recordings: old.length }, 'recordings past the retention period removed');
    return old.length;
  }

  /** Writes out what every live recording gathered (for tests and for close). */
  async flushAll(): Promise<void> {
    await Promise.all([...this.live.values()].map((l) => l.recorder.flush()));
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.subscriptions.dispose();
    for (const live of [...this.live.values()]) live.recorder.end();
    await this.flushAll();
    for (const live of this.live.values()) this.store.update(live.row.id, live.recorder.bytes, this.now(), live.recorder.stopped);
    this.live.clear();
  }

  fileOf(row: Pick<RecordingRow, 'file'>): string {
    return path.join(this.options.dir, path.basename(row.file));
  }

  // ---- internals

  private usageOf(learnerId: string): number {
    let n = this.usage.get(learnerId);
    if (n === undefined) {
      n = this.store.of(learnerId).reduce((sum, r) => sum + (this.live.get(r.id)?.counted ?? r.bytes), 0);
      this.usage.set(learnerId, n);
    }
    return n;
  }

  /** Is there room for `bytes` more of the learner's? Their oldest finished recordings make room. */
  private room(learnerId: string, bytes: number): boolean {
    const cap = this.options.learnerBytes;
    if (this.usageOf(learnerId) + bytes <= cap) return true;
    // oldest first, never a live one (that would cut a session the instructor may be watching)
    const finished = this.store.of(learnerId).filter((r) => !this.live.has(r.id)).reverse();
    for (const r of finished) {
      this.store.remove(r.id);
      void fs.rm(this.fileOf(r), { force: true });
      this.usage.set(learnerId, this.usageOf(learnerId) - r.bytes);
      this.options.log?.info({ recording: r.id, learner: learnerId }, "recording removed: the learner's recordings reached their cap");
      if (this.usageOf(learnerId) + bytes <= cap) return true;
    }
    return false;
  }

  private onEvent(e: LearnerEvent): void {
    const base = { learnerId: e.learnerId, lessonId: e.lessonId, at: e.at };
    switch (e.type) {
      case 'lesson-opened':
        return this.note({ ...base, kind: 'opened' });
      case 'reset':
        return this.note({ ...base, kind: 'reset' });
      case 'check':
        // "checking" is the checker at work, not a verdict
        if (e.status === 'checking') return;
        return this.note({ ...base, kind: 'check', exerciseId: e.exerciseId, status: e.status, reason: e.reason ?? null });
      case 'hint':
        return this.note({ ...base, kind: 'hint', exerciseId: e.exerciseId, text: String(e.count) });
      case 'solution':
        return this.note({ ...base, kind: 'solution', exerciseId: e.exerciseId });
      case 'command':
        return this.note({ ...base, kind: 'command', text: e.line, terminalId: e.terminalId ?? null });
      default:
        return;
    }
  }

  private note(entry: NewTimelineEntry): void {
    if (!this.records(entry.learnerId)) return;
    try {
      this.store.record(entry);
    } catch (err) {
      this.options.log?.error({ err }, 'timeline entry not stored');
    }
  }

  /** Recordings a crash left open end where their file does. */
  private closeUnfinished(): void {
    for (const r of this.store.unfinished()) {
      let st;
      try {
        st = statSync(this.fileOf(r));
      } catch {
        this.store.remove(r.id);
        continue;
      }
      this.store.update(r.id, st.size, Math.max(r.startedAt, Math.round(st.mtimeMs)), 'the server stopped');
    }
  }
}
