// What learners do, as it happens, for whoever watches in this process (the
// learner's own page, an instructor's dashboard), and notices sent back to a
// learner's page. In-process and synchronous: a listener must not block, and a
// listener that throws is logged away, never allowed to break the emitter.

export type CheckStatus = 'checking' | 'failed' | 'done';

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
      at: number;
    }
  | { type: 'hint'; learnerId: string; lessonId: string; exerciseId: string; count: number; at: number }
  | { type: 'solution'; learnerId: string; lessonId: string; exerciseId: string; at: number }
  | { type: 'reset'; learnerId: string; lessonId: string; at: number }
  /** Waiting in line for a sandbox (the server is full): the place, 0 once no longer waiting. */
  | { type: 'waiting'; learnerId: string; lessonId: string; position: number; at: number };

/** Shown on a learner's page. */
export type LearnerNotice =
  | { type: 'message'; from: string; text: string; at: number }
  /** Someone else (the instructor) types into the learner's terminal, or stopped doing so. */
  | { type: 'takeover'; active: boolean; by: string; at: number }
  /** The learner's lesson was reset from outside: the page reloads its state. */
  | { type: 'reset'; lessonId: string; at: number };

type Listener<T> = (value: T) => void;

/** Messages for a learner with no page open are held this long, at most this many, and shown when a page opens. */
export const HELD_MESSAGE_MS = 15 * 60_000;
export const HELD_MESSAGES = 20;
const MAX_HELD_LEARNERS = 10_000;

export class LearnerBus {
  private readonly listeners = new Set<Listener<LearnerEvent>>();
  private readonly noticeListeners = new Map<string, Set<Listener<LearnerNotice>>>();
  // a message sent while the learner's page reloads or reconnects is not lost
  private readonly held = new Map<string, Array<Extract<LearnerNotice, { type: 'message' }>>>();

  constructor(private readonly onListenerError: (err: unknown) => void = () => {}) {}

  emit(event: LearnerEvent): void {
    for (const listener of this.listeners) this.call(listener, event);
  }

  /** Every learner's events; returns the unsubscribe. */
  on(listener: Listener<LearnerEvent>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(learnerId: string, notice: LearnerNotice): void {
    const listeners = this.noticeListeners.get(learnerId);
    if (!listeners && notice.type === 'message') {
      const held = (this.held.get(learnerId) ?? []).filter((m) => m.at > Date.now() - HELD_MESSAGE_MS);
      held.push(notice);
      this.held.delete(learnerId); // re-inserted last: the map stays oldest first
      this.held.set(learnerId, held.slice(-HELD_MESSAGES));
      // learners who never come back: the oldest go first
      if (this.held.size > MAX_HELD_LEARNERS) this.held.delete(this.held.keys().next().value!);
      return;
    }
    for (const listener of listeners ?? []) this.call(listener, notice);
  }

  /** Notices for one learner (their open pages); returns the unsubscribe. */
  onNotice(learnerId: string, listener: Listener<LearnerNotice>): () => void {
    let set = this.noticeListeners.get(learnerId);
    if (!set) this.noticeListeners.set(learnerId, (set = new Set()));
    set.add(listener);
    const held = this.held.get(learnerId);
    this.held.delete(learnerId);
    for (const message of held ?? []) if (message.at > Date.now() - HELD_MESSAGE_MS) this.call(listener, message);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.noticeListeners.delete(learnerId);
    };
  }

  private call<T>(listener: Listener<T>, value: T): void {
    try {
      listener(value);
    } catch (err) {
      this.onListenerError(err);
    }
  }
}
