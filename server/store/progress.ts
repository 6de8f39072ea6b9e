// Learners and their progress through lessons, in SQLite. Every change is one
// transaction, so a crash loses nothing that was acknowledged.
import type { Db } from './db.js';

export interface ExerciseProgress {
  exerciseId: string;
  completedAt: number | null;
  attempts: number;
  hintsUsed: number;
  solutionRevealed: boolean;
  lastReason: string | null;
  lastCheckedAt: number | null;
  startedAt: number | null;
}

export interface AttemptResult {
  passed: boolean;
  reason?: string;
  /** Counts as one of the learner's attempts (default); a recheck of the same command records its result only. */
  counted?: boolean;
}

/** An exercise_progress row as SQLite gives it. */
export interface ExerciseRow {
  exercise_id: string;
  completed_at: number | null;
  attempts: number;
  hints_used: number;
  solution_revealed: number;
  last_reason: string | null;
  last_checked_at: number | null;
  started_at: number | null;
}

export function toProgress(row: ExerciseRow): ExerciseProgress {
  return {
    exerciseId: row.exercise_id,
    completedAt: row.completed_at,
    attempts: row.attempts,
    hintsUsed: row.hints_used,
    solutionRevealed: row.solution_revealed === 1,
    lastReason: row.last_reason,
    lastCheckedAt: row.last_checked_at,
    startedAt: row.started_at,
  };
}

export class ProgressStore {
  private readonly stmts;

  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {
    this.stmts = {
      upsertLearner: db.prepare('INSERT INTO learners (id, created_at, last_seen_at) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET last_seen_at = excluded.last_seen_at'),
      openLesson: db.prepare(
        'INSERT INTO lesson_progress (learner_id, lesson_id, started_at, opened_at) VALUES (?, ?, ?, ?) ON CONFLICT(learner_id, lesson_id) DO UPDATE SET opened_at = excluded.opened_at',
      ),
      exercises: db.prepare('SELECT * FROM exercise_progress WHERE learner_id = ? AND lesson_id = ? ORDER BY exercise_id'),
      ensureExercise: db.prepare('INSERT INTO exercise_progress (learner_id, lesson_id, exercise_id, started_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
      exercise: db.prepare('SELECT * FROM exercise_progress WHERE learner_id = ? AND lesson_id = ? AND exercise_id = ?'),
      attempt: db.prepare(
        `UPDATE exercise_progress SET attempts = attempts + ?, last_reason = ?, last_checked_at = ?,
           completed_at = CASE WHEN completed_at IS NULL AND ? THEN ? ELSE completed_at END
         WHERE learner_id = ? AND lesson_id = ? AND exercise_id = ?`,
      ),
      markDone: db.prepare('UPDATE exercise_progress SET completed_at = COALESCE(completed_at, ?) WHERE learner_id = ? AND lesson_id = ? AND exercise_id = ?'),
      hint: db.prepare('UPDATE exercise_progress SET hints_used = MAX(hints_used, ?) WHERE learner_id = ? AND lesson_id = ? AND exercise_id = ?'),
      solution: db.prepare('UPDATE exercise_progress SET solution_revealed = 1 WHERE learner_id = ? AND lesson_id = ? AND exercise_id = ?'),
      resetLesson: db.prepare('UPDATE exercise_progress SET completed_at = NULL, last_reason = NULL, started_at = NULL WHERE learner_id = ? AND lesson_id = ?'),
      doneCounts: db.prepare('SELECT lesson_id, COUNT(*) AS done FROM exercise_progress WHERE learner_id = ? AND completed_at IS NOT NULL GROUP BY lesson_id'),
    };
  }

  /** Records that the learner exists (first visit) or was seen again. */
  touchLearner(learnerId: string): void {
    const now = this.now();
    this.stmts.upsertLearner.run(learnerId, now, now);
  }

  lessonOpened(learnerId: string, lessonId: string): void {
    const now = this.now();
    this.stmts.openLesson.run(learnerId, lessonId, now, now);
  }

  /** The learner's progress in a lesson, by exercise id (exercises never tried are absent). */
  lesson(learnerId: string, lessonId: string): Map<string, ExerciseProgress> {
    const rows = this.stmts.exercises.all(learnerId, lessonId) as ExerciseRow[];
    return new Map(rows.map((row) => [row.exercise_id, toProgress(row)]));
  }

  exercise(learnerId: string, lessonId: string, exerciseId: string): ExerciseProgress | undefined {
    const row = this.stmts.exercise.get(learnerId, lessonId, exerciseId) as ExerciseRow | undefined;
    return row && toProgress(row);
  }

  /**
   * Records a check's result. A completed exercise stays completed whatever
   * later checks say. Returns the progress after the attempt and whether this
   * attempt completed it.
   */
  recordAttempt(learnerId: string, lessonId: string, exerciseId: string, result: AttemptResult): { progress: ExerciseProgress; newlyCompleted: boolean } {
    return this.db.transaction(() => {
      const now = this.now();
      this.stmts.ensureExercise.run(learnerId, lessonId, exerciseId, now);
      const before = this.exercise(learnerId, lessonId, exerciseId)!;
      this.stmts.attempt.run(result.counted === false ? 0 : 1, result.passed ? null : (result.reason ?? null), now, result.passed ? 1 : 0, now, learnerId, lessonId, exerciseId);
      const progress = this.exercise(learnerId, lessonId, exerciseId)!;
      return { progress, newlyCompleted: before.completedAt === null && progress.completedAt !== null };
    })();
  }

  /** Marks an exercise completed at `at`; one completed already keeps its first time. */
  markDone(learnerId: string, lessonId: string, exerciseId: string, at: number = this.now()): void {
    this.change(learnerId, lessonId, exerciseId, () => this.stmts.markDone.run(at, learnerId, lessonId, exerciseId));
  }

  /** The learner revealed static hint number `count` (1-based); counts only grow. */
  hintRevealed(learnerId: string, lessonId: string, exerciseId: string, count: number): void {
    this.change(learnerId, lessonId, exerciseId, () => this.stmts.hint.run(count, learnerId, lessonId, exerciseId));
  }

  solutionRevealed(learnerId: string, lessonId: string, exerciseId: string): void {
    this.change(learnerId, lessonId, exerciseId, () => this.stmts.solution.run(learnerId, lessonId, exerciseId));
  }

  /** Changes an exercise's row, made first if the learner never tried it, in one transaction. */
  private change(learnerId: string, lessonId: string, exerciseId: string, update: () => void): void {
    this.db.transaction(() => {
      this.stmts.ensureExercise.run(learnerId, lessonId, exerciseId, this.now());
      update();
    })();
  }

  /** Puts a lesson's exercises back to "to do"; attempts, hints and revealed solutions stay on record. */
  resetLesson(learnerId: string, lessonId: string): void {
    this.stmts.resetLesson.run(learnerId, lessonId);
  }

  /** Completed exercises per lesson, for the catalogue. */
  doneByLesson(learnerId: string): Map<string, number> {
    const rows = this.stmts.doneCounts.all(learnerId) as Array<{ lesson_id: string; done: number }>;
    return new Map(rows.map((r) => [r.lesson_id, r.done]));
  }
}
