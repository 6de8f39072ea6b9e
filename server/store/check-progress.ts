// The SQLite store seen through the checks' ProgressStore contract, so that the
// auto-checker writes where the player reads: one store, not two.
import type { Attempt, LessonProgress, ProgressStore as CheckProgress } from '../checks/progress.js';
import type { ProgressStore } from './progress.js';

export function checkProgress(store: ProgressStore): CheckProgress {
  return {
    async get(learnerId, lessonId): Promise<LessonProgress> {
      const progress: LessonProgress = { done: {}, attempts: {} };
      for (const [id, p] of store.lesson(learnerId, lessonId)) {
        if (p.completedAt !== null) progress.done[id] = p.completedAt;
        progress.attempts[id] = p.attempts;
      }
      return progress;
    },
    async markDone(learnerId, lessonId, exerciseId, at) {
      store.markDone(learnerId, lessonId, exerciseId, at);
    },
    async recordAttempt(a: Attempt) {
      // a look-ahead check that failed is the checker peeking, not the learner trying
      if (a.lookahead && !a.passed) return;
      store.recordAttempt(a.learnerId, a.lessonId, a.exerciseId, { passed: a.passed, reason: a.reason, counted: a.counted });
    },
  };
}
