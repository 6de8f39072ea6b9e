// The lesson player: a learner's way through a lesson. One sandbox per learner
// and lesson, started (or resumed) with the lesson's setup; the commands typed
// in its terminals drive the automatic checks; progress goes to the store and
// what happens goes to the LearnerBus and to the learner's open pages. Knows
// lessons, checks, sandboxes and terminals by their contracts; nothing of HTTP.
import type { Logger } from '../log.js';
import { AutoChecker, type ExerciseResult } from '../checks/autocheck.js';
import { LessonSetupError, lessonEnv, resetLesson, startLesson } from '../checks/lifecycle.js';
import type { CheckRunner } from '../checks/runner.js';
import type { PlayerUpdate } from '../contracts/learner-channel.js';
import type { CheckStatus, ExerciseStatus, StartStep } from '../contracts/lessons.js';
import type { LearnerBus } from '../events.js';
import type { LabsCatalog } from '../labs/loader.js';
import type { Exercise, Lesson } from '../labs/model.js';
import { unmetRequirements, type HostFacts } from '../labs/requirements.js';
import { DisposableStore, Emitter, KeyedEmitter, type Disposable } from '../lifecycle.js';
import type { Place, SandboxManager, Ticket } from '../sandbox/manager.js';
import { checkProgress } from '../store/check-progress.js';
import type { ProgressStore } from '../store/progress.js';
import type { TerminalRegistry } from '../terminal/registry.js';
import type { TerminalSession } from '../terminal/session.js';

export interface ExerciseState {
  id: string;
  status: ExerciseStatus;
  reason?: string;
  /** Static hints revealed so far (markdown source indexes; the caller renders). */
  hintsShown: number;
  solutionRevealed: boolean;
  /** Why this host cannot check it, when it cannot. */
  unavailable?: string;
}

/** The owner of everything a learner does in a lesson (one per learner and lesson at a time). */
interface Run {
  learnerId: string;
  lessonId: string;
  sandboxId?: string;
  step: StartStep;
  error?: string;
  checker?: AutoChecker;
  /** A command settled in one of the lesson sandbox's terminals. */
  settled: Emitter<void>;
  terminalSubs: Disposable[];
  lastUsed: number;
  /** Start, reset and stop of one run happen one after another. */
  queue: Promise<unknown>;
  /** Operations queued or running. */
  busy: number;
  /** Waiting in line for a sandbox (the server is full), and where. */
  ticket?: Ticket;
  place?: Place;
}

/** What asking for a lesson's sandbox gives: the sandbox, or a place in line for one. */
export type StartOutcome = { sandboxId: string } | { queued: Place };

export class PlayerError extends Error {
  constructor(readonly code: 'not-found' | 'unavailable' | 'bad-request' | 'setup-failed' | 'refused', message: string) {
    super(message);
  }
}

export interface PlayerOptions {
  catalog: LabsCatalog;
  sandboxes: SandboxManager;
  terminals: TerminalRegistry;
  runner: CheckRunner;
  store: ProgressStore;
  bus: LearnerBus;
  /** What the host's kernel lets sandboxes do (probed once, lazily). */
  hostFacts: () => Promise<HostFacts>;
  /** The lessons a learner may see and open, in order (a workshop narrows them); default: the catalogue. */
  lessonsFor?: (learnerId: string) => Lesson[];
  /** A lesson sandbox has been created for the learner (so they may use its terminals). */
  onSandbox?: (sandboxId: string, learnerId: string) => void;
  /** Lesson sandboxes one learner keeps at once; starting one more ends the least recently used. */
  maxRunsPerLearner?: number;
  log?: Logger;
}

const key = (learnerId: string, lessonId: string) => `${learnerId}\u0000${lessonId}`;

export class LessonPlayer {
  private readonly runs = new Map<string, Run>();
  private readonly bySandbox = new Map<string, Run>();
  private readonly updates: KeyedEmitter<string, PlayerUpdate>;
  private readonly progress;
  private readonly subscriptions = new DisposableStore();

  constructor(private readonly options: PlayerOptions) {
    this.updates = new KeyedEmitter((err) => options.log?.error({ err }, 'player update listener failed'));
    this.progress = checkProgress(options.store);
    this.subscriptions.add(options.terminals.onCreated((session) => this.follow(session)));
    this.subscriptions.add(options.sandboxes.onEnded(({ id }) => this.sandboxEnded(id)));
  }

  /** The lessons a learner may see and open, in order: the catalogue, previous and next, and access to every lesson route come from here alone. */
  lessonsFor(learnerId: string): Lesson[] {
    return this.options.lessonsFor?.(learnerId) ?? this.options.catalog.lessons;
  }

  /** The lesson, if this learner may open it. */
  lesson(learnerId: string, lessonId: string): Lesson {
    const lesson = this.lessonsFor(learnerId).find((l) => l.id === lessonId);
    if (!lesson) throw new PlayerError('not-found', `no lesson ${lessonId}`);
    return lesson;
  }

  /** The learner and lesson a sandbox is the lesson sandbox of, if it is one. */
  lessonOf(sandboxId: string): { learnerId: string; lessonId: string } | undefined {
    const run = this.bySandbox.get(sandboxId);
    return run && { learnerId: run.learnerId, lessonId: run.lessonId };
  }

  /** Why this host cannot run the lesson (or check the exercise), or undefined. */
  async unavailable(what: Lesson | Exercise): Promise<string | undefined> {
    const reason = unmetRequirements(what.requires, await this.options.hostFacts());
    return reason && `This ${'exercises' in what ? 'lesson' : 'exercise'} ${reason}.`;
  }

  /** Records that the learner opened the lesson's page. */
  opened(learnerId: string, lessonId: string): void {
    this.options.store.touchLearner(learnerId);
    this.options.store.lessonOpened(learnerId, lessonId);
    this.options.bus.emit({ type: 'lesson-opened', learnerId, lessonId, at: Date.now() });
  }

  /** Each exercise's state for this learner. */
  async exerciseStates(learnerId: string, lesson: Lesson): Promise<ExerciseState[]> {
    const progress = this.options.store.lesson(learnerId, lesson.id);
    return Promise.all(
      lesson.exercises.map(async (e) => {
        const p = progress.get(e.id);
        const unavailable = await this.unavailable(e);
        const status: ExerciseStatus = p?.completedAt ? 'done' : p?.lastReason ? 'failed' : 'todo';
        return {
          id: e.id,
          status,
          ...(status === 'failed' && p?.lastReason ? { reason: p.lastReason } : {}),
          hintsShown: Math.min(p?.hintsUsed ?? 0, e.hints.length),
          solutionRevealed: p?.solutionRevealed ?? false,
          ...(unavailable ? { unavailable } : {}),
        };
      }),
    );
  }

  /** The run's state, as the page shows it. */
  runState(learnerId: string, lessonId: string): { step: StartStep; sandboxId?: string; error?: string; place?: Place } | undefined {
    const run = this.runs.get(key(learnerId, lessonId));
    if (!run) return undefined;
    const alive = run.sandboxId !== undefined && this.options.sandboxes.has(run.sandboxId);
    return { step: run.step, ...(alive ? { sandboxId: run.sandboxId } : {}), ...(run.error ? { error: run.error } : {}), ...(run.ticket && run.place ? { place: run.place } : {}) };
  }

  /** Learners waiting in line for a sandbox, first first. */
  queue(): Array<{ learnerId: string; lessonId: string; position: number }> {
    return [...this.runs.values()]
      .filter((r) => r.ticket && r.place)
      .map((r) => ({ learnerId: r.learnerId, lessonId: r.lessonId, position: r.place!.position }))
      .sort((a, b) => a.position - b.position);
  }

  /** The learner answered an idle warning: their lesson's sandbox stays. */
  keep(learnerId: string, lessonId: string): boolean {
    const run = this.runs.get(key(learnerId, lessonId));
    if (!run?.sandboxId || !this.options.sandboxes.has(run.sandboxId)) return false;
    this.options.sandboxes.touch(run.sandboxId);
    return true;
  }

  /** A sandbox will be reaped soon: its learner hears of it. */
  idleWarning(sandboxId: string, inMs: number): void {
    const run = this.bySandbox.get(sandboxId);
    if (run) this.update(run.learnerId, { type: 'idle', lessonId: run.lessonId, inMs });
  }

  /**
   * Gives the learner the lesson's sandbox, set up: the one they have if it is
   * still alive (resuming), else a new one with the setup run again. Resolves
   * with the sandbox id once the lesson is ready; or, when the server is full,
   * at once with the learner's place in line: the lesson then starts by itself
   * when a sandbox frees up (start steps on the live channel), as long as one
   * of the learner's pages is open to see it. `refusal` says why the learner
   * may have no more sandboxes (their network's share), if so.
   */
  async start(learnerId: string, lessonId: string, refusal?: () => string | undefined): Promise<StartOutcome> {
    const lesson = this.lesson(learnerId, lessonId);
    const why = await this.unavailable(lesson);
    if (why) throw new PlayerError('unavailable', why);
    this.options.store.touchLearner(learnerId);
    const run = this.runFor(learnerId, lessonId);
    run.lastUsed = Date.now();
    if (run.ticket) return { queued: run.place ?? { position: run.ticket.position } };
    const alive = run.step === 'ready' && run.sandboxId !== undefined && this.options.sandboxes.has(run.sandboxId);
    if (!alive) {
      const refused = refusal?.();
      if (refused) throw new PlayerError('refused', refused);
      if (!this.options.sandboxes.hasRoom()) return { queued: this.enqueue(run) };
    }
    return { sandboxId: await this.serially(run, () => this.startNow(run, lesson)) };
  }

  /** Puts the run in line for a sandbox; it starts when room is kept for it, if the learner still looks. */
  private enqueue(run: Run): Place {
    // one place in line per learner: the lesson asked for last
    for (const other of this.runs.values()) if (other.learnerId === run.learnerId && other.ticket) this.leaveLine(other);
    const ticket = this.options.sandboxes.wait((place) => {
      run.place = place;
      this.update(run.learnerId, { type: 'start', lessonId: run.lessonId, step: 'queued', place });
      this.options.bus.emit({ type: 'waiting', learnerId: run.learnerId, lessonId: run.lessonId, position: place.position, at: Date.now() });
    });
    run.ticket = ticket;
    run.place ??= { position: ticket.position };
    run.step = 'queued';
    void ticket.ready.then(() => {
      if (run.ticket !== ticket) return;
      // a learner with no page open left the line with it
      if (!this.updates.has(run.learnerId)) return this.leaveLine(run);
      const lesson = this.options.catalog.lessons.find((l) => l.id === run.lessonId);
      if (!lesson) return this.leaveLine(run);
      void this.serially(run, () => this.startNow(run, lesson, ticket)).catch((err: unknown) => this.options.log?.error({ err, learner: run.learnerId, lesson: run.lessonId }, 'starting a queued lesson failed'));
    });
    this.options.log?.info({ learner: run.learnerId, lesson: run.lessonId, position: run.place.position }, 'learner waits in line for a sandbox');
    return run.place;
  }

  private leaveLine(run: Run): void {
    run.ticket?.cancel();
    this.doneWaiting(run);
    if (run.step === 'queued') run.step = 'sandbox';
  }

  private doneWaiting(run: Run): void {
    if (!run.ticket) return;
    run.ticket = undefined;
    run.place = undefined;
    this.options.bus.emit({ type: 'waiting', learnerId: run.learnerId, lessonId: run.lessonId, position: 0, at: Date.now() });
  }

  private async startNow(run: Run, lesson: Lesson, ticket?: Ticket): Promise<string> {
    if (run.step === 'ready' && run.sandboxId && this.options.sandboxes.has(run.sandboxId)) {
      this.options.sandboxes.touch(run.sandboxId);
      return run.sandboxId;
    }
    await this.evictBeyondLimit(run.learnerId, run);
    this.stopChecks(run);
    this.doneWaiting(run);
    this.setStep(run, 'sandbox');
    let sandboxId: string | undefined;
    const began = performance.now();
    let report;
    try {
      const info = await this.options.sandboxes.create(undefined, ticket);
      sandboxId = info.id;
      this.attach(run, sandboxId);
      this.options.onSandbox?.(sandboxId, run.learnerId);
      report = await startLesson(this.options.sandboxes, sandboxId, lesson, this.setupOptions(run));
    } catch (err) {
      return this.startFailed(run, sandboxId, err);
    }
    await this.startChecks(run, lesson);
    this.setStep(run, 'ready');
    this.options.log?.info({ learner: run.learnerId, lesson: run.lessonId, sandbox: sandboxId, ms: Math.round(performance.now() - began), assetsMs: report.assetsMs, setupMs: report.setupMs, ...(ticket ? { queued: true } : {}) }, 'lesson started');
    return sandboxId;
  }

  /**
   * Back to the lesson's start: a clean sandbox set up again, open terminals
   * ended, every exercise "to do" (hints and solutions seen stay on record).
   */
  async reset(learnerId: string, lessonId: string): Promise<StartOutcome> {
    const lesson = this.lesson(learnerId, lessonId);
    this.options.store.touchLearner(learnerId);
    const run = this.runFor(learnerId, lessonId);
    run.lastUsed = Date.now();
    const sandboxId = await this.serially(run, async () => {
      this.stopChecks(run);
      this.options.store.resetLesson(learnerId, lessonId);
      const id = run.sandboxId;
      if (!id || !this.options.sandboxes.has(id) || run.step === 'failed') return undefined;
      this.setStep(run, 'sandbox');
      try {
        await this.options.terminals.endSandbox(id);
        await resetLesson(this.options.sandboxes, id, lesson, this.setupOptions(run));
      } catch (err) {
        return this.startFailed(run, id, err);
      }
      await this.startChecks(run, lesson);
      this.setStep(run, 'ready');
      return id;
    });
    this.options.bus.emit({ type: 'reset', learnerId, lessonId, at: Date.now() });
    this.update(learnerId, { type: 'reset', lessonId });
    this.options.log?.info({ learner: learnerId, lesson: lessonId, sandbox: sandboxId }, 'lesson reset');
    // no live sandbox: the next start makes a fresh one
    return sandboxId ? { sandboxId } : this.start(learnerId, lessonId);
  }

  /** Checks an exercise now, as the learner asked. */
  async check(learnerId: string, lessonId: string, exerciseId: string): Promise<ExerciseResult> {
    const lesson = this.lesson(learnerId, lessonId);
    const exercise = this.exercise(lesson, exerciseId);
    const why = await this.unavailable(exercise);
    if (why) throw new PlayerError('unavailable', why);
    const run = this.runs.get(key(learnerId, lessonId));
    if (!run?.checker || run.step !== 'ready') throw new PlayerError('bad-request', 'start the lesson first');
    const result = await run.checker.checkNow(exerciseId);
    if (!result) throw new PlayerError('not-found', `no exercise ${exerciseId} in ${lessonId}`);
    return result;
  }

  /** Reveals the next static hint; returns how many are shown now. */
  revealHint(learnerId: string, lessonId: string, exerciseId: string): number {
    const exercise = this.exercise(this.lesson(learnerId, lessonId), exerciseId);
    if (exercise.hints.length === 0) throw new PlayerError('not-found', `exercise ${exerciseId} has no hints`);
    this.options.store.touchLearner(learnerId);
    const shown = this.options.store.exercise(learnerId, lessonId, exerciseId)?.hintsUsed ?? 0;
    const count = Math.min(shown + 1, exercise.hints.length);
    this.options.store.hintRevealed(learnerId, lessonId, exerciseId, count);
    if (count > shown) this.options.bus.emit({ type: 'hint', learnerId, lessonId, exerciseId, count, at: Date.now() });
    return count;
  }

  /** Runs the exercise's hint script in the learner's sandbox: what is wrong right now. */
  async diagnose(learnerId: string, lessonId: string, exerciseId: string): Promise<string> {
    const exercise = this.exercise(this.lesson(learnerId, lessonId), exerciseId);
    if (!exercise.hint) throw new PlayerError('not-found', `exercise ${exerciseId} has no hint script`);
    const run = this.runs.get(key(learnerId, lessonId));
    if (!run?.sandboxId || run.step !== 'ready') throw new PlayerError('bad-request', 'start the lesson first');
    const r = await this.options.runner.hint(run.sandboxId, exercise.hint.text, { key: JSON.stringify([run.sandboxId, lessonId, exerciseId]), owner: learnerId, env: lessonEnv() });
    return r.text;
  }

  /** Records that the learner asked for (and confirmed) the solution; the caller renders it. */
  revealSolution(learnerId: string, lessonId: string, exerciseId: string): Exercise {
    const exercise = this.exercise(this.lesson(learnerId, lessonId), exerciseId);
    if (!exercise.solution) throw new PlayerError('not-found', `exercise ${exerciseId} has no solution`);
    this.options.store.touchLearner(learnerId);
    this.options.store.solutionRevealed(learnerId, lessonId, exerciseId);
    this.options.bus.emit({ type: 'solution', learnerId, lessonId, exerciseId, at: Date.now() });
    return exercise;
  }

  /** Updates for one learner's open pages. */
  onUpdate(learnerId: string, listener: (u: PlayerUpdate) => void): Disposable {
    return this.updates.on(learnerId, listener);
  }

  /**
   * A sandbox ended (reaped, destroyed, evicted, gone): its run forgets it, and is itself
   * forgotten unless something is under way in it (progress is in the store;
   * the next start makes a new run and sandbox), so the runs of learners who
   * left do not pile up in a long-lived server.
   */
  private sandboxEnded(sandboxId: string): void {
    const run = this.bySandbox.get(sandboxId);
    if (!run) return;
    this.stopChecks(run);
    this.bySandbox.delete(sandboxId);
    if (run.sandboxId === sandboxId) run.sandboxId = undefined;
    if (run.step === 'ready') run.step = 'sandbox';
    const k = key(run.learnerId, run.lessonId);
    if (run.busy === 0 && !run.sandboxId && this.runs.get(k) === run) this.runs.delete(k);
  }

  close(): void {
    this.subscriptions.dispose();
    for (const run of this.runs.values()) this.stopChecks(run);
  }

  private exercise(lesson: Lesson, exerciseId: string): Exercise {
    const exercise = lesson.exercises.find((e) => e.id === exerciseId);
    if (!exercise) throw new PlayerError('not-found', `no exercise ${exerciseId} in ${lesson.id}`);
    return exercise;
  }

  private runFor(learnerId: string, lessonId: string): Run {
    const k = key(learnerId, lessonId);
    let run = this.runs.get(k);
    if (!run) {
      run = { learnerId, lessonId, step: 'sandbox', settled: new Emitter((err) => this.options.log?.error({ err }, 'checker failed on a settled command')), terminalSubs: [], lastUsed: Date.now(), queue: Promise.resolve(), busy: 0 };
      this.runs.set(k, run);
    }
    return run;
  }

  private serially<T>(run: Run, op: () => Promise<T>): Promise<T> {
    run.busy++;
    const next = run.queue.then(op, op).finally(() => run.busy--);
    run.queue = next.catch(() => {}); // the chain only orders: each op's caller hears its own failure
    return next;
  }

  private attach(run: Run, sandboxId: string): void {
    if (run.sandboxId) this.bySandbox.delete(run.sandboxId);
    run.sandboxId = sandboxId;
    this.bySandbox.set(sandboxId, run);
    for (const session of this.options.terminals.list(sandboxId)) this.follow(session);
  }

  /** Every command settled in a terminal of a lesson's sandbox reaches that lesson's checker. */
  private follow(session: TerminalSession): void {
    const run = this.bySandbox.get(session.sandboxId);
    if (!run) return;
    const settled = session.onCommandSettled(() => run.settled.fire());
    // what the learner entered, for their workshop's dashboard (the bus keeps nothing)
    const lines = session.onLine((line) => this.options.bus.emit({ type: 'command', learnerId: run.learnerId, lessonId: run.lessonId, line, terminalId: session.id, at: Date.now() }));
    run.terminalSubs.push(settled, lines);
    // learners open and close terminals all lesson long: forget the ended ones
    session.onEnded(() => {
      settled.dispose();
      lines.dispose();
      run.terminalSubs = run.terminalSubs.filter((s) => s !== settled && s !== lines);
    });
  }

  private setupOptions(run: Run) {
    return {
      ...(this.options.catalog.library ? { library: this.options.catalog.library.text } : {}),
      onProgress: (step: 'assets' | 'setup' | 'ready') => {
        if (step !== 'ready') this.setStep(run, step);
      },
    };
  }

  private async startFailed(run: Run, sandboxId: string | undefined, err: unknown): Promise<never> {
    const message = (err as Error).message;
    run.error = message;
    this.setStep(run, 'failed', message);
    this.options.log?.warn({ learner: run.learnerId, lesson: run.lessonId, err }, 'lesson could not start');
    if (sandboxId) {
      // a half-set-up sandbox is of no use; free its place for the next try
      this.bySandbox.delete(sandboxId);
      run.sandboxId = undefined;
      await this.destroy(sandboxId);
    }
    if (err instanceof LessonSetupError) throw new PlayerError('setup-failed', message);
    throw err;
  }

  private async startChecks(run: Run, lesson: Lesson): Promise<void> {
    const facts = await this.options.hostFacts();
    const exercises = lesson.exercises.filter((e) => !unmetRequirements(e.requires, facts));
    const { learnerId, lessonId } = run;
    const checker = new AutoChecker({
      runner: this.options.runner,
      sandboxId: run.sandboxId!,
      learnerId,
      lessonId,
      exercises: exercises.map((e) => ({ id: e.id, check: e.check.text, timeoutMs: e.timeoutMs })),
      progress: this.progress,
      env: lessonEnv(),
      settled: run.settled.event,
      onChecking: ({ exerciseId, trigger, lookahead }) => {
        // exercises ahead of the current one are checked quietly: they usually fail
        if (!lookahead) this.checkEvent(run, exerciseId, 'checking', trigger);
      },
      onResult: (r) => {
        if (r.passed) this.checkEvent(run, r.exerciseId, 'done', r.trigger);
        else if (!r.lookahead && !checker.doneExercises.includes(r.exerciseId)) this.checkEvent(run, r.exerciseId, 'failed', r.trigger, r.reason, r.attempt);
        else if (!r.lookahead) this.checkEvent(run, r.exerciseId, 'done', r.trigger);
      },
      onError: (err) => this.options.log?.warn({ learner: learnerId, lesson: lessonId, err }, 'automatic checks stopped'),
    });
    run.checker = checker;
    await checker.start();
  }

  private stopChecks(run: Run): void {
    run.checker?.dispose();
    run.checker = undefined;
    for (const sub of run.terminalSubs) sub.dispose();
    run.terminalSubs = [];
  }

  /** Ends the learner's least recently used lesson sandboxes beyond the limit. */
  private async evictBeyondLimit(learnerId: string, keep: Run): Promise<void> {
    const max = this.options.maxRunsPerLearner ?? 3;
    const live = [...this.runs.values()]
      .filter((r) => r.learnerId === learnerId && r !== keep && r.sandboxId && this.options.sandboxes.has(r.sandboxId))
      .sort((a, b) => a.lastUsed - b.lastUsed);
    for (const run of live.slice(0, Math.max(0, live.length + 1 - max))) {
      const id = run.sandboxId!;
      this.options.log?.info({ learner: learnerId, lesson: run.lessonId, sandbox: id }, 'lesson sandbox ended: the learner started another');
      await this.destroy(id, 'evicted');
    }
  }

  /** Its end reaches this player, the terminals and the owners through the manager's onEnded. */
  private async destroy(sandboxId: string, reason: 'destroyed' | 'evicted' = 'destroyed'): Promise<void> {
    await this.options.sandboxes.destroy(sandboxId, reason).catch((err: unknown) => this.options.log?.warn({ sandbox: sandboxId, err }, 'could not destroy a lesson sandbox'));
  }

  private checkEvent(run: Run, exerciseId: string, status: CheckStatus, trigger: 'auto' | 'demand', reason?: string, attempt = false): void {
    const { learnerId, lessonId } = run;
    this.options.bus.emit({ type: 'check', learnerId, lessonId, exerciseId, status, ...(reason ? { reason } : {}), trigger, attempt, at: Date.now() });
    this.update(learnerId, { type: 'exercise', lessonId, exerciseId, status, ...(reason ? { reason } : {}), trigger });
  }

  private setStep(run: Run, step: StartStep, error?: string): void {
    run.step = step;
    if (step !== 'failed') run.error = undefined;
    this.update(run.learnerId, { type: 'start', lessonId: run.lessonId, step, ...(error ? { error } : {}) });
  }

  private update(learnerId: string, update: PlayerUpdate): void {
    this.updates.fire(learnerId, update);
  }
}
