// A learner's progress through a lesson: which exercises are done (for good)
// and every attempt. The server keeps it in SQLite (server/store); this is the
// contract, and an in-memory store for tools and tests.

export interface Attempt {
  learnerId: string;
  lessonId: string;
  exerciseId: string;
  passed: boolean;
  reason: string;
  durationMs: number;
  /** What asked for the check: a command the learner ran, or the learner. */
  trigger: 'auto' | 'demand';
  /** A quiet automatic check of an exercise after the current one (see autocheck.ts). */
  lookahead?: boolean;
  /** It was one of the learner's tries (autocheck.ts ExerciseResult.attempt): only those count as attempts. */
  counted: boolean;
  at: number;
}

export interface LessonProgress {
  /** Exercise id → when it was done. */
  done: Record<string, number>;
  /** Exercise id → how many tries the learner made at it. */
  attempts: Record<string, number>;
}

export interface ProgressStore {
  get(learnerId: string, lessonId: string): Promise<LessonProgress>;
  /** Marks an exercise done; marking it again keeps the first time. */
  markDone(learnerId: string, lessonId: string, exerciseId: string, at: number): Promise<void>;
  recordAttempt(attempt: Attempt): Promise<void>;
}

export class MemoryProgressStore implements ProgressStore {
  private readonly lessons = new Map<string, LessonProgress>();

  private entry(learnerId: string, lessonId: string): LessonProgress {
    const key = JSON.stringify([learnerId, lessonId]);
    let progress = this.lessons.get(key);
    if (!progress) {
      progress = { done: {}, attempts: {} };
      this.lessons.set(key, progress);
    }
    return progress;
  }

  async get(learnerId: string, lessonId: string): Promise<LessonProgress> {
    const p = this.entry(learnerId, lessonId);
    return { done: { ...p.done }, attempts: { ...p.attempts } };
  }

  async markDone(learnerId: string, lessonId: string, exerciseId: string, at: number): Promise<void> {
    const p = this.entry(learnerId, lessonId);
    p.done[exerciseId] ??= at;
  }

  async recordAttempt(attempt: Attempt): Promise<void> {
    if (!attempt.counted) return;
    const p = this.entry(attempt.learnerId, attempt.lessonId);
    p.attempts[attempt.exerciseId] = (p.attempts[attempt.exerciseId] ?? 0) + 1;
  }
}
