// The recordings' index and the timeline in SQLite (migration 3 of db.ts).
// A recording row names its file and whose it is; the timeline holds what
// happened in a learner's lessons (checks, hints, commands...) on the same
// clock, so "what did they type before the check failed, and what did it say"
// is one query (`commands`).
import type { CommandVerdict, RecordingJson, TimelineEntry, TimelineKind } from '../contracts/recordings.js';
import type { Db } from './db.js';

export interface RecordingRow extends RecordingJson {
  learnerId: string;
  /** The file, relative to the recordings folder. */
  file: string;
}

export interface NewTimelineEntry {
  learnerId: string;
  lessonId?: string | null;
  at: number;
  kind: TimelineKind;
  exerciseId?: string | null;
  status?: string | null;
  reason?: string | null;
  text?: string | null;
  terminalId?: string | null;
}

interface RecordingDbRow {
  id: string;
  learner_id: string;
  lesson_id: string;
  terminal_id: string;
  file: string;
  cols: number;
  rows: number;
  started_at: number;
  ended_at: number | null;
  bytes: number;
  stopped: string | null;
}

const toRecording = (r: RecordingDbRow): RecordingRow => ({
  id: r.id,
  learnerId: r.learner_id,
  lessonId: r.lesson_id,
  terminalId: r.terminal_id,
  file: r.file,
  cols: r.cols,
  rows: r.rows,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  bytes: r.bytes,
  stopped: r.stopped,
});

const TIMELINE_COLUMNS = 'at, kind, lesson_id AS lessonId, exercise_id AS exerciseId, status, reason, text, terminal_id AS terminalId';

export class RecordingStore {
  constructor(private readonly db: Db) {}

  add(r: Omit<RecordingRow, 'endedAt' | 'bytes' | 'stopped'>): void {
    this.db
      .prepare('INSERT INTO recordings (id, learner_id, lesson_id, terminal_id, file, cols, rows, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(r.id, r.learnerId, r.lessonId, r.terminalId, r.file, r.cols, r.rows, r.startedAt);
  }

  /** The recording's size so far, and its end when it has ended. */
  update(id: string, bytes: number, endedAt?: number, stopped?: string): void {
    this.db.prepare('UPDATE recordings SET bytes = ?, ended_at = COALESCE(?, ended_at), stopped = COALESCE(?, stopped) WHERE id = ?').run(bytes, endedAt ?? null, stopped ?? null, id);
  }

  get(id: string): RecordingRow | undefined {
    const row = this.db.prepare('SELECT * FROM recordings WHERE id = ?').get(id) as RecordingDbRow | undefined;
    return row && toRecording(row);
  }

  /** A learner's recordings, newest first. */
  of(learnerId: string): RecordingRow[] {
    return (this.db.prepare('SELECT * FROM recordings WHERE learner_id = ? ORDER BY started_at DESC, id').all(learnerId) as RecordingDbRow[]).map(toRecording);
  }

  /** Recordings left unfinished (a crash), for the next start to close. */
  unfinished(): RecordingRow[] {
    return (this.db.prepare('SELECT * FROM recordings WHERE ended_at IS NULL').all() as RecordingDbRow[]).map(toRecording);
  }

  /** Recordings that ended before `before`. */
  endedBefore(before: number): RecordingRow[] {
    return (this.db.prepare('SELECT * FROM recordings WHERE ended_at IS NOT NULL AND ended_at < ?').all(before) as RecordingDbRow[]).map(toRecording);
  }

  bytesOf(learnerId: string): number {
    return (this.db.prepare('SELECT COALESCE(SUM(bytes), 0) AS n FROM recordings WHERE learner_id = ?').get(learnerId) as { n: number }).n;
  }

  remove(id: string): void {
    this.db.prepare('DELETE FROM recordings WHERE id = ?').run(id);
  }

  record(e: NewTimelineEntry): void {
    this.db
      .prepare('INSERT INTO timeline (learner_id, lesson_id, at, kind, exercise_id, status, reason, text, terminal_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(e.learnerId, e.lessonId ?? null, e.at, e.kind, e.exerciseId ?? null, e.status ?? null, e.reason ?? null, e.text ?? null, e.terminalId ?? null);
  }

  /** What happened to a learner between two times (inclusive), in order; of one lesson (and the learner-wide entries: messages, takeovers) if given. */
  timeline(learnerId: string, from = 0, to = Number.MAX_SAFE_INTEGER, lessonId?: string): TimelineEntry[] {
    return this.db
      .prepare(`SELECT ${TIMELINE_COLUMNS} FROM timeline WHERE learner_id = ? AND at BETWEEN ? AND ? AND (? IS NULL OR lesson_id IS NULL OR lesson_id = ?) ORDER BY at, id`)
      .all(learnerId, from, to, lessonId ?? null, lessonId ?? null) as TimelineEntry[];
  }

  /**
   * Every command a learner entered (in one terminal, if given), each with
   * the first check verdict of its lesson that came after it and before their
   * next command there: what they typed, and what the check then said.
   */
  commands(learnerId: string, terminalId?: string): CommandVerdict[] {
    const rows = this.db
      .prepare(
        `SELECT c.at, c.lesson_id AS lessonId, c.text AS line,
           (SELECT json_object('exerciseId', v.exercise_id, 'status', v.status, 'reason', v.reason, 'at', v.at)
              FROM timeline v
             WHERE v.learner_id = c.learner_id AND v.lesson_id IS c.lesson_id AND v.kind = 'check' AND v.id > c.id
               AND NOT EXISTS (SELECT 1 FROM timeline n WHERE n.learner_id = c.learner_id AND n.lesson_id IS c.lesson_id AND n.kind = 'command' AND n.id > c.id AND n.id < v.id)
             ORDER BY v.id LIMIT 1) AS verdict
         FROM timeline c
        WHERE c.learner_id = ? AND c.kind = 'command' AND (? IS NULL OR c.terminal_id = ?)
        ORDER BY c.id`,
      )
      .all(learnerId, terminalId ?? null, terminalId ?? null) as Array<Omit<CommandVerdict, 'verdict'> & { verdict: string | null }>;
    return rows.map((r) => ({ ...r, verdict: r.verdict ? (JSON.parse(r.verdict) as CommandVerdict['verdict']) : null }));
  }

  /** Removes timeline entries older than `before`; returns how many. */
  forgetBefore(before: number): number {
    return this.db.prepare('DELETE FROM timeline WHERE at < ?').run(before).changes;
  }

  /** Removes a learner's whole timeline (they asked). */
  forgetLearner(learnerId: string): void {
    this.db.prepare('DELETE FROM timeline WHERE learner_id = ?').run(learnerId);
  }
}
