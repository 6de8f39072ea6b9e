// The lesson API as the pages call it (same origin, the learner cookie).
// straight from api.ts, not the terminal's index: the catalogue must not load xterm.js
import type { CatalogueEntry, CheckJson, LessonJson, Started } from '../../server/contracts/lessons.js';
import { request as call } from '../terminal/api.js';

export type { CatalogueEntry, CheckStatus, ExerciseJson, ExerciseStatus, LessonJson, Place, Started } from '../../server/contracts/lessons.js';

const base = (lesson: string) => `/api/lessons/${encodeURIComponent(lesson)}`;
const ex = (lesson: string, exercise: string) => `${base(lesson)}/exercises/${encodeURIComponent(exercise)}`;

export const lessons = {
  catalogue: () => call<{ lessons: CatalogueEntry[] }>('GET', '/api/lessons').then((r) => r.lessons),
  lesson: (id: string) => call<LessonJson>('GET', base(id)),
  start: (id: string) => call<Started>('POST', `${base(id)}/start`),
  reset: (id: string) => call<Started>('POST', `${base(id)}/reset`, { confirm: true }),
  keep: (id: string) => call<void>('POST', `${base(id)}/keep`),
  check: (id: string, exercise: string) => call<CheckJson>('POST', `${ex(id, exercise)}/check`),
  hint: (id: string, exercise: string) => call<{ hints: string[]; hintsTotal: number }>('POST', `${ex(id, exercise)}/hints`),
  diagnose: (id: string, exercise: string) => call<{ text: string }>('POST', `${ex(id, exercise)}/diagnose`),
  solution: (id: string, exercise: string) => call<{ solutionHtml: string }>('POST', `${ex(id, exercise)}/solution`, { confirm: true }),
};
