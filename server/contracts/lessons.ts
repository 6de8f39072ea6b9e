// The lesson API's JSON, as the server sends it (server/http/lessons.ts) and
// the pages read it (web/player/api.ts), with the id rules and the statuses.
// Dependency-free: the server and the browser import this one declaration.

/** A lesson's id is its folder's name: lowercase letters, digits and dashes. */
export const LESSON_ID = /^[a-z0-9][a-z0-9-]{0,99}$/;
/** An exercise's id, from its heading's {#id}: lowercase words joined by dashes. */
export const EXERCISE_ID = /^(?=.{1,100}$)[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** What a check of an exercise is doing or found, as it happens. */
export type CheckStatus = 'checking' | 'failed' | 'done';
/** Where an exercise stands for a learner (done stays done). */
export type ExerciseStatus = 'todo' | 'failed' | 'done';
/** Where starting a lesson is: shown to the learner while they wait. */
export type StartStep = 'queued' | 'sandbox' | 'assets' | 'setup' | 'ready' | 'failed';

/** A place in line for a sandbox, the server being full. */
export interface Place {
  position: number;
  /** When a sandbox is likely free, from how fast they have been freeing. */
  estimateMs?: number;
}

export interface TerminalJson {
  id: string;
  sandboxId: string;
  cols: number;
  rows: number;
  viewers: number;
  /** Path of the terminal's WebSocket. */
  socket: string;
}

export interface SandboxJson {
  id: string;
  hostname: string;
  createdAt: number;
  terminals: TerminalJson[];
}

export interface CatalogueEntry {
  id: string;
  title: string;
  summary: string;
  time: string;
  minutes: number;
  order: number;
  exercises: number;
  done: number;
  /** What the lesson needs of the host, in words (its `requires`), met or not. */
  needs: string[];
  unavailable?: string;
}

export interface ExerciseJson {
  kind: 'exercise';
  id: string;
  titleHtml: string;
  html: string;
  /** The hints revealed so far (unrevealed ones stay on the server). */
  hints: string[];
  hintsTotal: number;
  hasHintScript: boolean;
  hasSolution: boolean;
  solutionHtml?: string;
  status: ExerciseStatus;
  reason?: string;
  unavailable?: string;
}

export interface ProseJson {
  kind: 'prose';
  titleHtml: string;
  html: string;
}

export interface RunJson {
  step: StartStep;
  error?: string;
  place?: Place;
  sandbox: SandboxJson | null;
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
  run: RunJson | null;
}

/** What starting (or resetting) a lesson gives: its sandbox, or a place in line (the lesson then starts by itself). */
export type Started = { sandbox: SandboxJson | null } | { queued: Place };

export interface CheckJson {
  exerciseId: string;
  passed: boolean;
  reason: string;
  /** Done now, by this check or before it. */
  done: boolean;
}
