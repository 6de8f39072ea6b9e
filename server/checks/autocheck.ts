// Automatic checking for one learner in one lesson: after every command the
// learner runs (a "command settled" event from their terminal), the checks of
// the exercises not done yet run in order, and each result is reported. A done
// exercise stays done. Knows checks and progress, not markdown or terminals.
import type { Disposable, Event } from '../lifecycle.js';
import type { ProgressStore } from './progress.js';
import type { CheckRunner } from './runner.js';

/** An exercise as far as checking goes. */
export interface CheckTarget {
  id: string;
  /** The check script. */
  check: string;
  timeoutMs?: number;
}

/** Tells when a command the learner typed has finished (any terminal of the sandbox). */
export type CommandSettledSource = Event<unknown>;

export interface ExerciseResult {
  exerciseId: string;
  passed: boolean;
  /** Why it failed; empty when it passed. */
  reason: string;
  /** The exercise became done with this result. */
  newlyDone: boolean;
  trigger: 'auto' | 'demand';
  /** An automatic check of an exercise after the current one (it is expected to fail). */
  lookahead: boolean;
  /**
   * One of the learner's tries at the exercise: a Check press, or a look at
   * the current exercise after a command that changed what the check sees
   * (it passed, or failed for another reason than last time), once per
   * command. Commands that change nothing it looks at, rechecks and
   * look-aheads are not tries.
   */
  attempt: boolean;
  durationMs: number;
  queuedMs: number;
  at: number;
}

/**
 * A check that fails right after a command is tried once more after this
 * delay, when no other command came meanwhile: what the learner started may
 * take a moment to be there (a process in the background, an interface
 * coming up). `boxlab verify` gives a solution the same two chances.
 */
export const RECHECK_DELAY_MS = 1000;
/** Not-done exercises checked after each command, first the current one. */
export const DEFAULT_CHECKS_PER_COMMAND = 3;
/**
 * The exercises after the current one are looked at after a command at most
 * this often: they fail in the common case, and a room of learners typing a
 * command every few seconds spent most of its checks on them. A command
 * sooner than this after the last look-ahead gets its look-ahead when the
 * time is up (one, however many commands came meanwhile); a recheck looks at
 * the current exercise only. When an exercise passes, the ones after it are
 * looked at in the same round (the learner is moving on), and any exercise
 * can be checked on demand.
 */
export const LOOKAHEAD_INTERVAL_MS = 10_000;
/**
 * Set for the checks of exercises after the current one. They fail in the
 * common case, so the helper library's retries (for races with what the
 * learner just started) would only hold a slot: it should try once.
 */
export const LOOKAHEAD_ENV: Readonly<Record<string, string>> = { BOXLAB_CHECK_LOOKAHEAD: '1' };
/**
 * Set for the current exercise's check right after a command: it tries once,
 * since a state that takes a moment to appear gets the second look a second
 * later, with the library's retries. A room of learners' failing checks would
 * otherwise hold every slot asleep in retries while the queue grows.
 */
export const QUICK_ENV: Readonly<Record<string, string>> = { BOXLAB_CHECK_QUICK: '1' };

export interface AutoCheckerOptions {
  runner: CheckRunner;
  sandboxId: string;
  learnerId: string;
  lessonId: string;
  /** In lesson order; leave out those the host cannot run. */
  exercises: CheckTarget[];
  progress: ProgressStore;
  settled: CommandSettledSource;
  onResult: (result: ExerciseResult) => void;
  /** A check is about to run (for a "checking" indicator). */
  onChecking?: (check: { exerciseId: string; trigger: 'auto' | 'demand'; lookahead: boolean }) => void;
  /** The sandbox could not run a check (it is gone, for instance); automatic checks stop. */
  onError?: (err: Error) => void;
  /** Environment of check scripts (e.g. LESSON_ASSETS). */
  env?: Record<string, string>;
  checksPerCommand?: number;
  /** 0 turns the second try off. */
  recheckDelayMs?: number;
  /** 0 looks ahead after every command. */
  lookaheadIntervalMs?: number;
}

/** What a round looks at: after a command, everything; a recheck, the current exercise; a deferred look-ahead, the ones after it. */
type RoundKind = 'command' | 'recheck' | 'lookahead';

export class AutoChecker {
  private readonly done = new Set<string>();
  private subscription: Disposable | undefined;
  private roundRunning = false;
  private again = false;
  private recheckTimer: NodeJS.Timeout | undefined;
  private recheckArmed = false;
  /** When the exercises ahead were last looked at, and a look-ahead put off until the interval is up. */
  private lookaheadAt = -Infinity;
  private lookaheadTimer: NodeJS.Timeout | undefined;
  private lookaheadOwed = false;
  /** A recheck or look-ahead asked for while a round ran. */
  private queued: RoundKind | undefined;
  private stopped = false;
  /** Commands settled so far, and the one whose try at the current exercise was counted. */
  private commands = 0;
  private counted = 0;
  /** Exercise id → the reason its last automatic look failed with. */
  private lastReason = new Map<string, string>();

  constructor(private readonly options: AutoCheckerOptions) {}

  /** Loads what is done already and starts listening for commands. */
  async start(): Promise<void> {
    const progress = await this.options.progress.get(this.options.learnerId, this.options.lessonId);
    for (const id of Object.keys(progress.done)) this.done.add(id);
    if (this.stopped) return;
    this.subscription = this.options.settled(() => this.commandSettled());
  }

  get doneExercises(): string[] {
    return this.options.exercises.filter((e) => this.done.has(e.id)).map((e) => e.id);
  }

  /** Checks one exercise now (the first not done when none is named), as the learner asked. */
  async checkNow(exerciseId?: string): Promise<ExerciseResult | undefined> {
    const target = exerciseId === undefined ? this.pending()[0] : this.options.exercises.find((e) => e.id === exerciseId);
    if (!target) return undefined;
    return this.run(target, 'demand');
  }

  dispose(): void {
    this.stopped = true;
    this.subscription?.dispose();
    clearTimeout(this.recheckTimer);
    clearTimeout(this.lookaheadTimer);
  }

  private pending(): CheckTarget[] {
    return this.options.exercises.filter((e) => !this.done.has(e.id));
  }

  private commandSettled(): void {
    if (this.stopped) return;
    this.commands++;
    clearTimeout(this.recheckTimer);
    // the previous command's recheck: this command gets its own
    if (this.queued === 'recheck') this.queued = undefined;
    this.recheckArmed = (this.options.recheckDelayMs ?? RECHECK_DELAY_MS) > 0;
    this.requestRound();
  }

  private requestRound(kind: RoundKind = 'command'): void {
    if (this.roundRunning) {
      // a command restarts the round; a recheck or a look-ahead that comes meanwhile runs after it
      if (kind === 'command') this.again = true;
      else this.queued ??= kind;
      return;
    }
    void this.rounds(kind);
  }

  private async rounds(kind: RoundKind): Promise<void> {
    this.roundRunning = true;
    let firstFailed = false;
    // the second look (no command came since) is the one with retries
    let quick = kind === 'command' && this.recheckArmed;
    const interval = this.options.lookaheadIntervalMs ?? LOOKAHEAD_INTERVAL_MS;
    try {
      do {
        if (this.again) (quick = this.recheckArmed), (kind = 'command');
        this.again = false;
        firstFailed = false;
        const targets = this.pending().slice(0, this.options.checksPerCommand ?? DEFAULT_CHECKS_PER_COMMAND);
        let anyPassed = false;
        let ahead: boolean | undefined;
        for (const [i, target] of targets.entries()) {
          if (this.stopped) return;
          if (i === 0 && kind === 'lookahead') continue;
          // the exercises ahead: at once when one before them just passed (the learner is moving on);
          // otherwise after a command, at most once per interval (owed until then), and not again on a recheck
          if (i > 0 && !anyPassed) {
            if (ahead === undefined) {
              const due = performance.now() - this.lookaheadAt >= interval;
              ahead = due && (kind === 'command' || this.lookaheadOwed);
              if (kind === 'command' && !due) this.lookaheadOwed = true;
              if (ahead) {
                this.lookaheadAt = performance.now();
                this.lookaheadOwed = false;
              }
            }
            if (!ahead) break;
          }
          const result = await this.run(target, 'auto', i > 0, quick);
          if (result.passed) anyPassed = true;
          if (i === 0 && !result.passed) firstFailed = true;
          // a newer command changed the state: start over from the current exercise
          if (this.again) break;
        }
      } while (this.again && !this.stopped);
    } catch (err) {
      if (!this.stopped) this.options.onError?.(err as Error);
      this.dispose();
      return;
    } finally {
      this.roundRunning = false;
    }
    if (this.stopped) return;
    if (firstFailed && this.recheckArmed) {
      this.recheckArmed = false;
      this.recheckTimer = setTimeout(() => this.requestRound('recheck'), this.options.recheckDelayMs ?? RECHECK_DELAY_MS);
    }
    if (this.lookaheadOwed && this.lookaheadTimer === undefined) {
      this.lookaheadTimer = setTimeout(() => {
        this.lookaheadTimer = undefined;
        this.requestRound('lookahead');
      }, Math.max(0, this.lookaheadAt + interval - performance.now()));
    }
    const queued = this.queued;
    this.queued = undefined;
    if (queued) this.requestRound(queued);
  }

  private async run(target: CheckTarget, trigger: ExerciseResult['trigger'], lookahead = false, quick = false): Promise<ExerciseResult> {
    const { runner, sandboxId, learnerId, lessonId, progress } = this.options;
    const env = { ...this.options.env, ...(lookahead ? LOOKAHEAD_ENV : quick ? QUICK_ENV : {}) };
    if (!this.stopped) this.options.onChecking?.({ exerciseId: target.id, trigger, lookahead });
    const r = await runner.check(sandboxId, target.check, {
      key: JSON.stringify([sandboxId, lessonId, target.id]),
      owner: learnerId,
      ...(target.timeoutMs ? { timeoutMs: target.timeoutMs } : {}),
      env,
    });
    const at = Date.now();
    // a command is one try however many looks it gets; a look-ahead is none
    const changed = r.passed || this.lastReason.get(target.id) !== r.reason;
    const attempt = trigger === 'demand' || (!lookahead && changed && this.counted !== this.commands);
    if (trigger === 'auto' && attempt) this.counted = this.commands;
    if (trigger === 'auto' && !lookahead && !r.passed) this.lastReason.set(target.id, r.reason);
    // disposed meanwhile (the lesson was reset): this result is about a sandbox state that is gone
    if (this.stopped) return { exerciseId: target.id, passed: r.passed, reason: r.reason, newlyDone: false, trigger, lookahead, attempt: false, durationMs: r.durationMs, queuedMs: r.queuedMs, at };
    await progress.recordAttempt({ learnerId, lessonId, exerciseId: target.id, passed: r.passed, reason: r.reason, durationMs: r.durationMs, trigger, ...(lookahead ? { lookahead } : {}), counted: attempt, at });
    const newlyDone = r.passed && !this.done.has(target.id);
    if (newlyDone) {
      this.done.add(target.id);
      await progress.markDone(learnerId, lessonId, target.id, at);
    }
    const result: ExerciseResult = { exerciseId: target.id, passed: r.passed, reason: r.reason, newlyDone, trigger, lookahead, attempt, durationMs: r.durationMs, queuedMs: r.queuedMs, at };
    if (!this.stopped) this.options.onResult(result);
    return result;
  }
}
