// The live channel to a learner's pages (WebSocket /ws/learner), server to
// page only, one JSON text frame per message. Dependency-free: the server
// (server/http/learner-socket.ts) and the page (web/player/channel.ts) share it.
import type { CheckStatus, Place, StartStep } from './lessons.js';

export const LEARNER_SOCKET_PATH = '/ws/learner';

/** What the lesson player tells a learner's pages. */
export type PlayerUpdate =
  | { type: 'start'; lessonId: string; step: StartStep; error?: string; place?: Place }
  /** The lesson's sandbox will be reaped for idleness in `inMs` unless the learner uses (or keeps) it. */
  | { type: 'idle'; lessonId: string; inMs: number }
  | { type: 'exercise'; lessonId: string; exerciseId: string; status: CheckStatus; reason?: string; trigger: 'auto' | 'demand' }
  | { type: 'reset'; lessonId: string };

/** Shown on a learner's page, sent by others (the instructor) on the LearnerBus. */
export type LearnerNotice =
  | { type: 'message'; from: string; text: string; at: number }
  /** Someone else (the instructor) types into the learner's terminal, or stopped doing so. */
  | { type: 'takeover'; active: boolean; by: string; at: number }
  /** The learner's lesson was reset from outside: the page reloads its state. */
  | { type: 'reset'; lessonId: string; at: number };

export type LearnerMessage = { kind: 'update'; update: PlayerUpdate } | { kind: 'notice'; notice: LearnerNotice };
