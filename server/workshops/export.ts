// A workshop's progress for the instructor to keep: one record per learner
// and exercise of the workshop's lessons (exercises never tried included),
// as JSON or CSV.
import type { Column } from '../contracts/dashboard.js';
import type { CommandVerdict } from '../contracts/recordings.js';
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

/** A command a learner entered and the check verdict that followed it (store/recordings.ts), for the export. */
export interface ExportCommand {
  learner: string;
  learnerId: string;
  lesson: string | null;
  /** ISO 8601. */
  at: string;
  line: string;
  exercise: string | null;
  verdict: string | null;
  reason: string | null;
}

export function exportCommands(members: Member[], commandsOf: (learnerId: string) => CommandVerdict[], lessons: string[]): ExportCommand[] {
  return members.flatMap((m) =>
    commandsOf(m.learnerId)
      .filter((c) => c.lessonId === null || lessons.includes(c.lessonId))
      .map((c) => ({ learner: m.name, learnerId: m.learnerId, lesson: c.lessonId, at: new Date(c.at).toISOString(), line: c.line, exercise: c.verdict?.exerciseId ?? null, verdict: c.verdict?.status ?? null, reason: c.verdict?.reason ?? null })),
  );
}

export function commandsCsv(commands: ExportCommand[]): string {
  const lines = ['learner,lesson,at,command,exercise,verdict,reason'];
  for (const c of commands) lines.push([c.learner, c.lesson, c.at, c.line, c.exercise, c.verdict, c.reason].map(csvField).join(','));
  return `${lines.join('\r\n')}\r\n`;
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
