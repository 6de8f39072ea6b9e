// `boxlab verify`: proves a lesson's checks right. In a fresh sandbox with the
// lesson set up, each exercise's check must fail, the solution is typed into a
// real interactive shell as a learner would type it, and the check must then
// pass within the chances the automatic checker gives it.
import { RECHECK_DELAY_MS } from '../checks/autocheck.js';
import { LessonSetupError, lessonEnv, startLesson } from '../checks/lifecycle.js';
import { CheckRunner, type CheckResult } from '../checks/runner.js';
import type { Answer, Exercise, Lesson } from '../labs/model.js';
import { unmetRequirements, type HostFacts } from '../labs/requirements.js';
import type { SandboxPty } from '../sandbox/driver.js';
import type { SandboxManager } from '../sandbox/manager.js';
import { Typist, TypingError } from './typist.js';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Disposable } from '../lifecycle.js';
import { CAST_EXT, CastRecorder, castText } from '../recording/cast.js';

export interface SolutionOverride {
  text: string;
  /** Where it came from, for the report. */
  source: string;
}

export interface VerifyTarget {
  lesson: Lesson;
  /** Verify only this exercise (those before it are prepared with their reference solutions). */
  exerciseId?: string;
  /** Type this instead of the exercise's reference solution (needs exerciseId). */
  solution?: SolutionOverride;
  /** Type this answer of answers.md instead (needs exerciseId): a near miss must fail, with its reason. */
  answer?: Answer;
}

export interface CheckOutcome {
  passed: boolean;
  reason: string;
  ms: number;
}

export interface ExerciseReport {
  id: string;
  /** passed: the check failed before and passed after; prepared: an earlier exercise set up for the one verified. */
  status: 'passed' | 'failed' | 'skipped' | 'prepared';
  problems: string[];
  skipped?: string;
  before?: CheckOutcome;
  hint?: { text: string; ms: number };
  typed?: { source: string; lines: number; ms: number };
  after?: CheckOutcome & { attempts: number };
  /** The end of the terminal, when something went wrong. */
  transcript?: string;
  ms: number;
}

export interface LessonReport {
  id: string;
  file: string;
  ok: boolean;
  /** The lesson could not be loaded or set up. */
  error?: string;
  setupMs?: number;
  exercises: ExerciseReport[];
  /** With --answers: each alternate and near miss of answers.md, typed into a sandbox of its own. */
  answers?: AnswerReport[];
  ms: number;
}

export interface AnswerReport {
  exercise: string;
  kind: Answer['kind'];
  title: string;
  /** passed: an alternate passed, or a near miss failed with its reason. */
  status: 'passed' | 'failed' | 'skipped';
  problems: string[];
  skipped?: string;
  /** The check's outcome after the answer (its second chance included). */
  after?: CheckOutcome & { attempts: number };
  transcript?: string;
  ms: number;
}

export interface VerifyOptions {
  sandboxes: SandboxManager;
  host: HostFacts;
  /** labs/_lib/check.sh */
  library?: string;
  onExercise?: (lesson: Lesson, report: ExerciseReport) => void;
  /** Write the session typed into this folder as <lesson>.cast (asciicast v2), each check's verdict a marker in it. */
  recordDir?: string;
}

export async function verifyLesson(target: VerifyTarget, options: VerifyOptions): Promise<LessonReport> {
  const { lesson } = target;
  const started = performance.now();
  const report: LessonReport = { id: lesson.id, file: lesson.file, ok: false, exercises: [], ms: 0 };
  const runner = new CheckRunner({ executor: options.sandboxes, ...(options.library !== undefined ? { library: options.library } : {}), concurrency: 1 });
  const lessonReason = unmetRequirements(lesson.requires, options.host);
  const exercises = lesson.exercises;
  const last = target.exerciseId ? exercises.findIndex((e) => e.id === target.exerciseId) : exercises.length - 1;
  if (last < 0) {
    report.error = `no exercise "${target.exerciseId}" in ${lesson.id} (it has ${exercises.map((e) => e.id).join(', ')})`;
    return finish(report, started);
  }

  if (lessonReason) {
    for (const ex of exercises.slice(0, last + 1)) {
      if (target.exerciseId && ex.id !== target.exerciseId) continue;
      const r: ExerciseReport = { id: ex.id, status: 'skipped', problems: [], skipped: lessonReason, ms: 0 };
      report.exercises.push(r);
      options.onExercise?.(lesson, r);
    }
    report.ok = true;
    return finish(report, started);
  }

  const box = await options.sandboxes.create();
  let pty: SandboxPty | undefined;
  let typist: Typist | undefined;
  let recorder: CastRecorder | undefined;
  let recorded: Disposable | undefined;
  try {
    try {
      const setup = await startLesson(options.sandboxes, box.id, lesson, options.library !== undefined ? { library: options.library } : {});
      report.setupMs = setup.assetsMs + setup.setupMs;
    } catch (err) {
      if (!(err instanceof LessonSetupError)) throw err;
      report.error = err.message + (err.output ? `\n${tail(err.output, 10)}` : '');
      return finish(report, started);
    }
    // the learner's shell opens once the lesson is set up, and finds $LESSON_ASSETS in its profile
    pty = options.sandboxes.spawnPty(box.id, ['bash', '-l'], { cols: 120, rows: 40 });
    if (options.recordDir) {
      const rec = (recorder = new CastRecorder({ file: path.join(options.recordDir, `${lesson.id}${CAST_EXT}`), cols: 120, rows: 40, title: `boxlab verify ${lesson.id}`, maxBytes: 64 * 1024 ** 2 }));
      recorded = pty.onData((data) => rec.output(data));
    }
    const shell = (typist = new Typist(pty, recorder ? { onInput: (text) => recorder!.input(new TextEncoder().encode(text)) } : {}));
    await shell.ready();
    const env = lessonEnv();
    const check = async (ex: Exercise) => {
      const result = await runner.check(box.id, ex.check.text, { timeoutMs: ex.timeoutMs, env });
      recorder?.mark(result.passed ? `✓ ${ex.id}` : `✗ ${ex.id}: ${result.reason}`);
      return result;
    };

    for (const ex of exercises.slice(0, last + 1)) {
      const verifying = !target.exerciseId || ex.id === target.exerciseId;
      const answer = verifying ? target.answer : undefined;
      const solution = answer ? { text: answer.script.text, source: `${answer.kind} "${answer.title}"` } : verifying ? target.solution : undefined;
      const r = await verifyExercise(ex, { verifying: verifying && !answer, solution, reason: answer?.reason, host: options.host, typist: shell, check, hint: (script) => runner.hint(box.id, script, { timeoutMs: ex.timeoutMs, env }) });
      if (!verifying && r.status !== 'skipped') r.status = 'prepared';
      report.exercises.push(r);
      options.onExercise?.(lesson, r);
    }
    report.ok = report.exercises.every((e) => e.status !== 'failed' && (e.status !== 'prepared' || e.problems.length === 0));
  } finally {
    typist?.dispose();
    recorded?.dispose();
    if (recorder && options.recordDir) await writePlainCast(recorder, path.join(options.recordDir, `${lesson.id}.cast`));
    await pty?.terminate(500).catch(() => {}); // the sandbox is destroyed next, which ends the shell regardless
    await options.sandboxes.destroy(box.id);
  }
  return finish(report, started);
}

/** The recording, uncompressed: an author plays it with `asciinema play`. */
async function writePlainCast(recorder: CastRecorder, file: string): Promise<void> {
  recorder.end();
  await recorder.flush();
  const packed = file.replace(/\.cast$/, CAST_EXT);
  await writeFile(file, castText(await readFile(packed), packed));
  await rm(packed, { force: true });
}

interface ExerciseContext {
  /** Check before (it must fail) and run the hint script. */
  verifying: boolean;
  solution: SolutionOverride | undefined;
  /** A near miss's: the check must fail after it, with a reason that matches. */
  reason: string | undefined;
  host: HostFacts;
  typist: Typist;
  check: (ex: Exercise) => Promise<CheckResult>;
  hint: (script: string) => Promise<{ text: string; timedOut: boolean; durationMs: number }>;
}

async function verifyExercise(ex: Exercise, x: ExerciseContext): Promise<ExerciseReport> {
  const started = performance.now();
  const r: ExerciseReport = { id: ex.id, status: 'failed', problems: [], ms: 0 };
  const done = () => {
    r.ms = Math.round(performance.now() - started);
    if (r.problems.length) r.transcript = x.typist.transcript(15);
    return r;
  };
  const unmet = unmetRequirements(ex.requires, x.host);
  if (unmet) {
    r.status = 'skipped';
    r.skipped = unmet;
    return done();
  }
  const solution = x.solution ?? (ex.solution ? { text: ex.solution.text, source: 'reference' } : undefined);
  if (!solution) {
    r.problems.push('no solution block to verify the check with');
    return done();
  }

  if (x.verifying) {
    const before = await x.check(ex);
    r.before = outcome(before);
    if (before.passed) r.problems.push('the check passes before the solution: it must fail until the exercise is done');
    else if (before.timedOut) r.problems.push(`the check runs into its timeout before the solution (${before.reason}); a learner would wait that long after every command`);
    else if (/without saying why\.$/.test(before.reason)) r.problems.push('the check fails without a reason: its last line of output should tell the learner what is missing');
    if (ex.hint) {
      const hint = await x.hint(ex.hint.text);
      r.hint = { text: hint.text, ms: hint.durationMs };
      if (hint.timedOut) r.problems.push('the hint script runs into its timeout');
      else if (!hint.text) r.problems.push('the hint script says nothing before the solution');
    }
  }

  try {
    const typed = await x.typist.type(solution.text);
    r.typed = { source: solution.source, ...typed };
  } catch (err) {
    if (!(err instanceof TypingError)) throw err;
    r.problems.push(`typing the solution: ${err.message}`);
    return done();
  }

  // the automatic checker's chances: right after the command, and once more a moment later
  const typedAt = performance.now();
  let after = await x.check(ex);
  let attempts = 1;
  if (!after.passed) {
    await sleep(Math.max(0, RECHECK_DELAY_MS - (performance.now() - typedAt)));
    after = await x.check(ex);
    attempts++;
  }
  r.after = { ...outcome(after), attempts };
  if (x.reason !== undefined) {
    if (after.passed) r.problems.push(`the check passes after the ${solution.source}: it must fail`);
    else if (!new RegExp(x.reason).test(after.reason)) r.problems.push(`the check fails after the ${solution.source}, but its reason does not match /${x.reason}/: ${after.reason}`);
  } else if (!after.passed) r.problems.push(`the check fails after the ${solution.source === 'reference' ? 'solution' : `solution from ${solution.source}`}: ${after.reason}`);
  r.status = r.problems.length ? 'failed' : 'passed';
  return done();
}

/**
 * Types each answer of the exercises (all when `exerciseIds` is empty) into a
 * fresh sandbox of its own, after the reference solutions of the exercises
 * before it, `jobs` at a time; reports them in the order of answers.md.
 */
export async function verifyAnswers(lesson: Lesson, exerciseIds: string[], { jobs, onAnswer, onExercise: _, ...options }: VerifyOptions & { jobs: number; onAnswer?: (r: AnswerReport) => void }): Promise<AnswerReport[]> {
  const todo = lesson.exercises.filter((e) => !exerciseIds.length || exerciseIds.includes(e.id)).flatMap((ex) => ex.answers.map((answer) => ({ ex, answer })));
  const reports: AnswerReport[] = new Array(todo.length);
  let next = 0;
  const work = async () => {
    while (next < todo.length) {
      const n = next++;
      const { ex, answer } = todo[n]!;
      const lessonReport = await verifyLesson({ lesson, exerciseId: ex.id, answer }, options);
      const r: AnswerReport = { exercise: ex.id, kind: answer.kind, title: answer.title, status: 'failed', problems: [], ms: lessonReport.ms };
      const mine = lessonReport.exercises.find((e) => e.id === ex.id);
      if (lessonReport.error) r.problems.push(lessonReport.error);
      for (const e of lessonReport.exercises) if (e !== mine) r.problems.push(...e.problems.map((p) => `preparing ${e.id}: ${p}`));
      if (mine?.status === 'skipped') {
        r.status = 'skipped';
        r.skipped = mine.skipped!;
      } else if (mine) {
        r.problems.push(...mine.problems);
        if (mine.after) r.after = mine.after;
        if (mine.transcript) r.transcript = mine.transcript;
        if (!r.problems.length) r.status = 'passed';
      }
      reports[n] = r;
      onAnswer?.(r);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, work));
  return reports;
}

function outcome(r: CheckResult): CheckOutcome {
  return { passed: r.passed, reason: r.reason, ms: r.durationMs };
}

function finish(report: LessonReport, started: number): LessonReport {
  report.ms = Math.round(performance.now() - started);
  if (report.error) report.ok = false;
  return report;
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
