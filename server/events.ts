// What learners do, as it happens, for whoever watches in this process (the
// learner's own page, an instructor's dashboard), and notices sent back to a
// learner's page. In-process and synchronous: a listener must not block, and a
// listener that throws is logged away, never allowed to break the emitter.

import type { LearnerNotice } from './contracts/learner-channel.js';
import type { CheckStatus } from './contracts/lessons.js';
import { Emitter, KeyedEmitter, type Disposable, type Event } from './lifecycle.js';

export type LearnerEvent =
  | { type: 'lesson-opened'; learnerId: string; lessonId: string; at: number }
  | {
      type: 'check';
      learnerId: string;
      lessonId: string;
      exerciseId: string;
      status: CheckStatus;
      /** Why it failed, in the check's words. */
      reason?: string;
      trigger: 'auto' | 'demand';
      /** A result that is one of the learner's tries (autocheck.ts ExerciseResult.attempt). */
      attempt?: boolean;
      at: number;
    }
  | { type: 'hint'; learnerId: string; lessonId: string; exerciseId: string; count: number; at: number }
  | { type: 'solution'; learnerId: string; lessonId: string; exerciseId: string; at: number }
  | { type: 'reset'; learnerId: string; lessonId: string; at: number }
  /** A line the learner entered in a terminal of the lesson's sandbox, as typed (terminal/activity.ts); the timeline keeps it where recording is on. */
  | { type: 'command'; learnerId: string; lessonId: string; line: string; terminalId?: string; at: number }
  /** Waiting in line for a sandbox (the server is full): the place, 0 once no longer waiting. */
  | { type: 'waiting'; learnerId: string; lessonId: string; position: number; at: number };

/** Messages for a learner with no page open are held this long, at most this many, and shown when a page opens. */
export const HELD_MESSAGE_MS = 15 * 60_000;
export const HELD_MESSAGES = 20;
const MAX_HELD_LEARNERS = 10_000;

export class LearnerBus {
  private readonly events: Emitter<LearnerEvent>;
  private readonly notices: KeyedEmitter<string, LearnerNotice>;
  private readonly noticed: Emitter<{ learnerId: string; notice: LearnerNotice }>;
  // a message sent while the learner's page reloads or reconnects is not lost
  private readonly held = new Map<string, Array<Extract<LearnerNotice, { type: 'message' }>>>();

  constructor(onListenerError: (err: unknown) => void = () => {}) {
    this.events = new Emitter(onListenerError);
    this.notices = new KeyedEmitter(onListenerError);
    this.noticed = new Emitter(onListenerError);
  }

  emit(event: LearnerEvent): void {
    this.events.fire(event);
  }

  /** Every learner's events. */
  readonly on: Event<LearnerEvent> = (listener) => this.events.event(listener);

  /** Every notice sent to any learner, whether a page of theirs is open or not (the timeline keeps them). */
  readonly onNotified: Event<{ learnerId: string; notice: LearnerNotice }> = (listener) => this.noticed.event(listener);

  notify(learnerId: string, notice: LearnerNotice): void {
    this.noticed.fire({ learnerId, notice });
    if (!this.notices.has(learnerId) && notice.type === 'message') {
      const held = (this.held.get(learnerId) ?? []).filter((m) => m.at > Date.now() - HELD_MESSAGE_MS);
      held.push(notice);
      this.held.delete(learnerId); // re-inserted last: the map stays oldest first
      this.held.set(learnerId, held.slice(-HELD_MESSAGES));
      // learners who never come back: the oldest go first
      if (this.held.size > MAX_HELD_LEARNERS) this.held.delete(this.held.keys().next().value!);
      return;
    }
    this.notices.fire(learnerId, notice);
  }

  /** Notices for one learner (their open pages); the messages held for them come first. */
  onNotice(learnerId: string, listener: (notice: LearnerNotice) => void): Disposable {
    const sub = this.notices.on(learnerId, listener);
    const held = this.held.get(learnerId);
    this.held.delete(learnerId);
    for (const message of held ?? []) if (message.at > Date.now() - HELD_MESSAGE_MS) this.notices.fire(learnerId, message);
    return sub;
  }
}
