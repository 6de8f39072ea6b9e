// A workshop's progress for the instructor to keep: one record per learner
// and exercise of the workshop's lessons (exercises never tried included),
// as JSON or CSV.
import type { Column } from '../contracts/dashboard.js';
import type { Member, ProgressRecord } from './store.js';

export interface ExportRecord {
  learner: string;
  learnerId: string;
  lesson: string;
  exercise: string;
  /** ISO 8601, or null when not completed. */
  completedAt: string | null;
  attempts: number;
  hintsUsed: number;
  solutionRevealed: boolean;
}

export function exportRecords(members: Member[], columns: Column[], progress: ProgressRecord[]): ExportRecord[] {
  const byKey = new Map(progress.map((p) => [`${p.learnerId}\0${p.lessonId}\0${p.exerciseId}`, p]));
  return members.flatMap((m) =>
    columns.map((c) => {
      const p = byKey.get(`${m.learnerId}\0${c.lessonId}\0${c.exerciseId}`);
      return {
        learner: m.name,
        learnerId: m.learnerId,
        lesson: c.lessonId,
        exercise: c.exerciseId,
        completedAt: p?.completedAt != null ? new Date(p.completedAt).toISOString() : null,
        attempts: p?.attempts ?? 0,
        hintsUsed: p?.hintsUsed ?? 0,
        solutionRevealed: p?.solutionRevealed ?? false,
      };
    }),
  );
}

const CSV_COLUMNS = ['learner', 'lesson', 'exercise', 'completed_at', 'attempts', 'hints_used', 'solution_revealed'] as const;

/** RFC 4180 quoting; a leading =, +, - or @ is defused so a spreadsheet never runs a learner's display name as a formula. */
function csvField(value: string | number | boolean | null): string {
  let text = value === null ? '' : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(records: ExportRecord[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of records) lines.push([r.learner, r.lesson, r.exercise, r.completedAt, r.attempts, r.hintsUsed, r.solutionRevealed].map(csvField).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
