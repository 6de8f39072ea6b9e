// The lesson API as the pages call it (same origin, the learner cookie).
// straight from api.ts, not the terminal's index: the catalogue must not load xterm.js
import { request as call, type SandboxInfo } from '../terminal/api.js';

export type ExerciseStatus = 'todo' | 'checking' | 'failed' | 'done';

export interface CatalogueEntry {
  id: string;
  title: string;
  summary: string;
  time: string;
  exercises: number;
  done: number;
  unavailable?: string;
}

export interface ExerciseJson {
  kind: 'exercise';
  id: string;
  titleHtml: string;
  html: string;
  hints: string[];
  hintsTotal: number;
  hasHintScript: boolean;
  hasSolution: boolean;
  solutionHtml?: string;
  status: Exclude<ExerciseStatus, 'checking'>;
  reason?: string;
  unavailable?: string;
}

export interface ProseJson {
  kind: 'prose';
  titleHtml: string;
  html: string;
}

export interface LessonJson {
  id: string;
  title: string;
  summary: string;
  time: string;
  introHtml: string;
  sections: Array<ProseJson | ExerciseJson>;
  unavailable?: string;
  previous: { id: string; title: string } | null;
  next: { id: string; title: string } | null;
  run: { step: string; error?: string; place?: Place; sandbox: SandboxInfo | null } | null;
}

/** A place in line for a sandbox, the server being full. */
export interface Place {
  position: number;
  estimateMs?: number;
}

/** What starting a lesson gives: its sandbox, or a place in line (the lesson then starts by itself). */
export type Started = { sandbox: SandboxInfo } | { queued: Place };

const base = (lesson: string) => `/api/lessons/${encodeURIComponent(lesson)}`;
const ex = (lesson: string, exercise: string) => `${base(lesson)}/exercises/${encodeURIComponent(exercise)}`;

export const lessons = {
  catalogue: () => call<{ lessons: CatalogueEntry[] }>('GET', '/api/lessons').then((r) => r.lessons),
  lesson: (id: string) => call<LessonJson>('GET', base(id)),
  start: (id: string) => call<Started>('POST', `${base(id)}/start`),
  reset: (id: string) => call<Started>('POST', `${base(id)}/reset`, { confirm: true }),
  keep: (id: string) => call<void>('POST', `${base(id)}/keep`),
  check: (id: string, exercise: string) => call<{ passed: boolean; reason: string; done: boolean }>('POST', `${ex(id, exercise)}/check`),
  hint: (id: string, exercise: string) => call<{ hints: string[]; hintsTotal: number }>('POST', `${ex(id, exercise)}/hints`),
  diagnose: (id: string, exercise: string) => call<{ text: string }>('POST', `${ex(id, exercise)}/diagnose`),
  solution: (id: string, exercise: string) => call<{ solutionHtml: string }>('POST', `${ex(id, exercise)}/solution`, { confirm: true }),
};
