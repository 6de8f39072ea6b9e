// The authoring commands: `boxlab validate` lints lessons without running
// anything; `boxlab verify` proves their checks right in real sandboxes.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { probeHostFacts } from '../checks/probe.js';
import type { Config } from '../config.js';
import { lintLesson, lintScript } from '../labs/lint.js';
import { loadLabs, type LabsCatalog } from '../labs/loader.js';
import { formatIssue, type LoadIssue } from '../labs/model.js';
import type { RootfsProgress } from '../sandbox/rootfs.js';
import { startSandboxEngine } from '../sandbox/index.js';
import { formatAnswer, formatExercise, formatLessonSummary } from './report.js';
import { selectLessons, UsageError } from './select.js';
import { verifyAnswers, verifyLesson, type LessonReport, type SolutionOverride } from './verify.js';

export interface ValidateOptions {
  labs?: string;
  json?: boolean;
}

/** Returns the exit status: 0 when no lesson has an error. */
export async function runValidate(args: string[], opts: ValidateOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const selection = selectLessons(args, opts.labs);
  if (selection.lessons.some((l) => l.exerciseId)) throw new UsageError('validate checks whole lessons: name lessons, not exercises');
  const only = selection.lessons.map((l) => l.id);
  const catalog = await loadLabs(selection.labsDir, only.length ? { only } : {});
  const issues = [...catalog.issues];
  if (catalog.library) issues.push(...lintScript(catalog.library, 'the helper library'));
  for (const lesson of catalog.lessons) issues.push(...lintLesson(lesson));
  if (catalog.lessons.length === 0 && catalog.skipped.length === 0 && !issues.some((i) => i.severity === 'error')) {
    issues.push({ severity: 'error', file: catalog.dir, message: 'holds no lessons (folders with a lesson.md)' });
  }
  sortIssues(issues);
  const errors = issues.filter((i) => i.severity === 'error').length;
  const warnings = issues.length - errors;
  if (opts.json) {
    out.write(`${JSON.stringify({ ok: errors === 0, dir: catalog.dir, lessons: catalog.lessons.map((l) => l.id), skipped: catalog.skipped, issues }, null, 2)}\n`);
  } else {
    for (const issue of issues) out.write(`${formatIssue(issue, process.cwd())}\n`);
    const broken = catalog.skipped.length ? `, ${catalog.skipped.length} broken (${catalog.skipped.join(', ')})` : '';
    out.write(`validate: ${catalog.lessons.length} lesson${catalog.lessons.length === 1 ? '' : 's'} ok${broken}; ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}\n`);
  }
  return errors ? 1 : 0;
}

export interface VerifyCommandOptions {
  labs?: string;
  solution?: string;
  /** Also type every alternate and near miss of answers.md, `jobs` sandboxes at a time. */
  answers?: boolean;
  jobs?: number;
  json?: boolean;
  /** Write each lesson's typed session into this folder as <lesson>.cast. */
  record?: string;
  onRootfsProgress?: (p: RootfsProgress) => void;
}

/** Returns the exit status: 0 when every exercise verified (or was skipped for the host). */
export async function runVerify(args: string[], opts: VerifyCommandOptions, config: Config, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const selection = selectLessons(args, opts.labs);
  let solution: SolutionOverride | undefined;
  if (opts.solution && opts.answers) throw new UsageError('--solution and --answers do not go together: --answers types the answers of answers.md');
  const jobs = opts.jobs ?? 2;
  const recordDir = opts.record ? path.resolve(opts.record) : undefined;
  if (recordDir) mkdirSync(recordDir, { recursive: true });
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs takes a number of sandboxes, 1 or more (not ${String(opts.jobs)})`);
  if (opts.solution) {
    if (selection.lessons.length !== 1 || !selection.lessons[0]!.exerciseId) {
      throw new UsageError('--solution replaces one exercise\'s solution: name it as <lesson>/<exercise>');
    }
    try {
      solution = { text: readFileSync(opts.solution, 'utf8'), source: opts.solution };
    } catch (err) {
      throw new UsageError(`cannot read ${opts.solution}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const only = [...new Set(selection.lessons.map((l) => l.id))];
  const catalog = await loadLabs(selection.labsDir, only.length ? { only } : {});
  const wanted = only.length ? only : [...catalog.lessons.map((l) => l.id), ...catalog.skipped];
  if (wanted.length === 0) throw new UsageError(`no lessons to verify in ${catalog.dir}`);

  const say = (line: string) => {
    if (!opts.json) out.write(`${line}\n`);
  };
  const reports: LessonReport[] = [];
  const sandboxes = await startSandboxEngine(config, opts.onRootfsProgress ? { onRootfsProgress: opts.onRootfsProgress } : {});
  // sandboxes die with this process anyway; closing also removes their cgroups
  const stop = () => void sandboxes.close().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let host;
  try {
    host = await probeHostFacts(sandboxes);
    say(`verify: cgroup v${host.cgroupVersion}; kernel features: ${[...host.features].sort().join(', ') || 'none'}`);
    for (const id of wanted) {
      const lesson = catalog.lessons.find((l) => l.id === id);
      if (!lesson) {
        const report = brokenLesson(id, catalog);
        reports.push(report);
        say(formatLessonSummary(report));
        continue;
      }
      const targets = selection.lessons.filter((l) => l.id === id);
      const exerciseIds = targets.length ? targets.map((t) => t.exerciseId) : [undefined];
      for (const exerciseId of exerciseIds) {
        say(`${lesson.id}${exerciseId ? `/${exerciseId}` : ''}: ${lesson.title}`);
        const report = await verifyLesson(
          { lesson, ...(exerciseId ? { exerciseId } : {}), ...(solution ? { solution } : {}) },
          { sandboxes, host, ...(catalog.library ? { library: catalog.library.text } : {}), ...(recordDir ? { recordDir } : {}), onExercise: (_, r) => say(formatExercise(r)) },
        );
        if (opts.answers && !report.error) {
          const library = catalog.library ? { library: catalog.library.text } : {};
          report.answers = await verifyAnswers(lesson, exerciseId ? [exerciseId] : [], { sandboxes, host, ...library, jobs, onAnswer: (a) => say(formatAnswer(a)) });
          if (report.answers.some((a) => a.status === 'failed')) report.ok = false;
        }
        reports.push(report);
        say(formatLessonSummary(report));
      }
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await sandboxes.close();
  }
  const ok = reports.every((r) => r.ok);
  if (opts.json) {
    out.write(`${JSON.stringify({ ok, host: { cgroupVersion: host.cgroupVersion, features: [...host.features].sort() }, lessons: reports }, null, 2)}\n`);
  } else {
    const exercises = reports.flatMap((r) => r.exercises);
    const n = (s: string) => exercises.filter((e) => e.status === s).length;
    const answers = reports.flatMap((r) => r.answers ?? []);
    const judged = opts.answers ? `; answers: ${answers.filter((a) => a.status === 'passed').length} judged right, ${answers.filter((a) => a.status === 'failed').length} wrong, ${answers.filter((a) => a.status === 'skipped').length} skipped` : '';
    say(`verify: ${ok ? 'ok' : 'FAILED'}: ${reports.length} lesson${reports.length === 1 ? '' : 's'}, ${n('passed')} exercises verified, ${n('failed')} failed, ${n('skipped')} skipped${reports.some((r) => r.error) ? `, ${reports.filter((r) => r.error).length} lesson(s) broken` : ''}${judged}`);
  }
  return ok ? 0 : 1;
}

function brokenLesson(id: string, catalog: LabsCatalog): LessonReport {
  const issues = catalog.issues.filter((i) => i.severity === 'error' && (i.file.includes(`/${id}/`) || i.file.endsWith(`/${id}`)));
  return {
    id,
    file: issues[0]?.file ?? `${catalog.dir}/${id}`,
    ok: false,
    error: `the lesson does not load:\n${issues.map((i) => formatIssue(i, process.cwd())).join('\n') || 'no such lesson'}`,
    exercises: [],
    ms: 0,
  };
}

function sortIssues(issues: LoadIssue[]): void {
  issues.sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0));
}
