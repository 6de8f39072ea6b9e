// The dashboard's grid, as plain data and pure functions shared by the server
// (which keeps it current from learners' events) and the browser (which
// sorts, filters and decides who is stuck as time passes). No Node, no DOM.

export type CellStatus = 'todo' | 'checking' | 'failed' | 'done';

export interface Column {
  lessonId: string;
  lessonTitle: string;
  exerciseId: string;
  title: string;
}

export interface Row {
  learnerId: string;
  name: string;
  joinedAt: number;
  /** By cellKey(lesson, exercise); absent is "todo". */
  cells: Record<string, CellStatus>;
  /** The exercise the learner is on (the first not done in the lesson they last opened), or null when all are done. */
  current: string | null;
  /** When the learner last made progress (opened the lesson, completed an exercise): the start of the time on the current exercise. */
  since: number;
  /** The learner's failed tries at the current exercise since then (a command after which it failed, a Check press; never the checker's rechecks or look-aheads). */
  attempts: number;
  /** Why the current exercise's check failed last, exactly as the learner's page shows it; null when it has not failed. */
  reason: string | null;
  lastActive: number;
  /** Hints revealed and solutions seen, in all, and by cellKey. */
  hints: number;
  solutions: number;
  revealed: Record<string, { hints: number; solution: boolean }>;
  /** The last lines the learner entered (terminal/activity.ts), oldest first, at most RECENT_COMMANDS; kept in memory only. */
  commands: string[];
  /** Their place in line for a sandbox, the server being full; 0 when not waiting. */
  waiting?: number;
}

export interface Thresholds {
  /** No progress for this long is stuck. */
  stuckMs: number;
  /** This many failed tries at one exercise is stuck... */
  stuckAttempts: number;
  /** ...once the learner has also been on it this long (a burst of quick tries is exploring, not being stuck). */
  stuckAttemptsMs: number;
}

/** A lesson as the instructor picks it for a workshop, with its exercises: the grid's columns. */
export interface LessonOutline {
  id: string;
  title: string;
  exercises: Array<{ id: string; title: string }>;
}

export const RECENT_COMMANDS = 5;

/** A workshop's settings; the instructor's list adds how many learners joined. */
export interface WorkshopView {
  id: string;
  name: string;
  /** Short join code, unambiguous to read aloud or off a projector. */
  code: string;
  /** Lesson ids, in the order the class takes them. */
  lessons: string[];
  startsAt: number | null;
  endsAt: number | null;
  endedAt: number | null;
  capacity: number;
}

/** Server → dashboard messages: one snapshot on connect, then deltas. */
export type DashboardMessage =
  | { type: 'snapshot'; now: number; workshop: WorkshopView; columns: Column[]; rows: Row[]; thresholds: Thresholds }
  | { type: 'rows'; now: number; rows: Row[] }
  | { type: 'workshop'; now: number; workshop: WorkshopView };

/** A learner's event as the grid needs it (server/events.ts LearnerEvent, minus the learner). */
export type GridEvent =
  | { type: 'lesson-opened'; lessonId: string; at: number }
  | { type: 'check'; lessonId: string; exerciseId: string; status: 'checking' | 'failed' | 'done'; reason?: string; attempt?: boolean; at: number }
  | { type: 'command'; lessonId: string; line: string; at: number }
  | { type: 'hint'; lessonId: string; exerciseId: string; count?: number; at: number }
  | { type: 'solution'; lessonId: string; exerciseId: string; at: number }
  | { type: 'reset'; lessonId: string; at: number }
  | { type: 'waiting'; lessonId: string; position: number; at: number };

export const cellKey = (lessonId: string, exerciseId: string): string => `${lessonId}/${exerciseId}`;

/** The first exercise not done, in `lessonId` first, then in the workshop's order. */
export function currentExercise(columns: Column[], cells: Record<string, CellStatus>, lessonId: string | null): string | null {
  const open = (c: Column) => cells[cellKey(c.lessonId, c.exerciseId)] !== 'done';
  const found = columns.find((c) => c.lessonId === lessonId && open(c)) ?? columns.find(open);
  return found ? cellKey(found.lessonId, found.exerciseId) : null;
}

/** The learner's current exercise becomes the first not done; a new one starts its clock and its failure count afresh. */
function moveCurrent(row: Row, columns: Column[], lessonId: string, at: number): void {
  const next = currentExercise(columns, row.cells, lessonId);
  if (next === row.current) return;
  row.current = next;
  row.since = at;
  row.attempts = 0;
  row.reason = null;
}

function revealed(row: Row, key: string): { hints: number; solution: boolean } {
  return (row.revealed[key] ??= { hints: 0, solution: false });
}

const lessonOf = (key: string | null): string | null => (key === null ? null : key.slice(0, key.indexOf('/')));

/** Applies one event to a row in place; returns whether the row changed. */
export function applyEvent(row: Row, columns: Column[], event: GridEvent): boolean {
  if (event.type === 'waiting') {
    // waiting is not activity, and counts whichever lesson it is for
    if ((row.waiting ?? 0) === event.position) return false;
    row.waiting = event.position;
    return true;
  }
  const known = columns.some((c) => c.lessonId === event.lessonId);
  if (!known) return false;
  row.lastActive = Math.max(row.lastActive, event.at);
  switch (event.type) {
    case 'command':
      row.commands = [...row.commands, event.line].slice(-RECENT_COMMANDS);
      return true;
    case 'lesson-opened': {
      moveCurrent(row, columns, event.lessonId, event.at);
      return true;
    }
    case 'check': {
      const key = cellKey(event.lessonId, event.exerciseId);
      if (!columns.some((c) => cellKey(c.lessonId, c.exerciseId) === key) || row.cells[key] === 'done') return false;
      if (event.status === 'done') {
        row.cells[key] = 'done';
        moveCurrent(row, columns, event.lessonId, event.at);
        return true;
      }
      // look-ahead checks of later exercises fail all the time: only the current one's count
      if (key !== row.current) return false;
      if (event.status === 'failed') {
        if (event.attempt) row.attempts++;
        row.reason = event.reason ?? null;
      }
      row.cells[key] = event.status;
      return true;
    }
    case 'hint': {
      row.hints++;
      const seen = revealed(row, cellKey(event.lessonId, event.exerciseId));
      seen.hints = event.count ?? seen.hints + 1;
      return true;
    }
    case 'solution': {
      const seen = revealed(row, cellKey(event.lessonId, event.exerciseId));
      if (!seen.solution) row.solutions++;
      seen.solution = true;
      return true;
    }
    case 'reset': {
      for (const c of columns) if (c.lessonId === event.lessonId) delete row.cells[cellKey(c.lessonId, c.exerciseId)];
      if (lessonOf(row.current) === event.lessonId || row.current === null) {
        row.current = currentExercise(columns, row.cells, event.lessonId);
        row.since = event.at;
        row.attempts = 0;
        row.reason = null;
      }
      return true;
    }
  }
}

/** Which rule calls the learner stuck, in words for the dashboard; undefined when none does. */
export function stuckReason(row: Row, now: number, t: Thresholds): string | undefined {
  if (row.current === null) return undefined;
  const on = now - row.since;
  if (on >= t.stuckMs) return `no progress for ${Math.floor(on / 60_000)} min`;
  if (row.attempts >= t.stuckAttempts && on >= t.stuckAttemptsMs) return `${row.attempts} failed tries in ${Math.floor(on / 60_000)} min`;
  return undefined;
}

export function isStuck(row: Row, now: number, t: Thresholds): boolean {
  return stuckReason(row, now, t) !== undefined;
}

export function doneCount(row: Row): number {
  let n = 0;
  for (const status of Object.values(row.cells)) if (status === 'done') n++;
  return n;
}

/** Learners who completed each column, in column order. */
export function totals(columns: Column[], rows: Row[]): number[] {
  return columns.map((c) => {
    const key = cellKey(c.lessonId, c.exerciseId);
    return rows.filter((r) => r.cells[key] === 'done').length;
  });
}
