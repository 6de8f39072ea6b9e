// The lesson model: what a lesson folder (docs/lesson-format.md) becomes once
// loaded. Plain data; nothing here runs anything.
import type { Requirements } from './requirements.js';

/** A script taken out of a lesson (check, hint, solution, setup), with where it came from. */
export interface Script {
  text: string;
  /** The file it was read from. */
  file: string;
  /** 1-based line of the script's first line in `file`. */
  line: number;
}

export interface Exercise {
  kind: 'exercise';
  /** Stable across title changes; keeps the learner's progress. */
  id: string;
  /** Inline markdown. */
  title: string;
  /** 1-based line of the exercise heading in lesson.md. */
  line: number;
  /** The task in markdown, without its check, hint, solution and meta blocks and its static hints. */
  task: string;
  check: Script;
  /** Says what is wrong right now; runs like the check. */
  hint?: Script;
  /** The reference answer; never sent to a browser unless the learner asks for it. */
  solution?: Script;
  /** Static hints (markdown), revealed one at a time. */
  hints: string[];
  timeoutMs: number;
  requires: Requirements;
  /** Other answers to try (answers.md), for `boxlab verify --answers`; never sent to a browser. */
  answers: Answer[];
}

/**
 * An answer a reviewer tries (answers.md): an alternate must pass the check,
 * a near miss must fail it with a reason that matches `reason` (a regular
 * expression's source).
 */
export interface Answer {
  kind: 'alternate' | 'near-miss';
  title: string;
  /** What is typed, line by line, as a learner would. */
  script: Script;
  reason?: string;
}

/** A `## ` section that is not an exercise. */
export interface ProseSection {
  kind: 'prose';
  title: string;
  line: number;
  markdown: string;
}

export type Section = ProseSection | Exercise;

export interface Lesson {
  /** The folder name, e.g. "01-namespaces". */
  id: string;
  /** The lesson folder. */
  dir: string;
  /** Its lesson.md. */
  file: string;
  title: string;
  summary: string;
  order: number;
  /** Estimated time as the author wrote it ("30 min"). */
  time: string;
  minutes: number;
  requires: Requirements;
  /** Markdown before the first `## ` heading. */
  intro: string;
  /** Prose sections and exercises, in the order of the file. */
  sections: Section[];
  exercises: Exercise[];
  /** setup.sh, run as root in the sandbox when the lesson starts and when it is reset. */
  setup?: Script;
  /** The lesson's assets/ folder, when it has one. */
  assetsDir?: string;
}

export interface LoadIssue {
  severity: 'error' | 'warning';
  file: string;
  /** 1-based; absent when the issue concerns a whole file or folder. */
  line?: number;
  message: string;
}

/** "labs/02-cgroups/lesson.md:41: exercise "oom" has two check blocks" */
export function formatIssue(issue: LoadIssue, relativeTo?: string): string {
  let file = issue.file;
  if (relativeTo && file.startsWith(relativeTo + '/')) file = file.slice(relativeTo.length + 1);
  return `${file}${issue.line ? `:${issue.line}` : ''}: ${issue.severity === 'warning' ? 'warning: ' : ''}${issue.message}`;
}

export const DEFAULT_CHECK_TIMEOUT_MS = 10_000;
export const MAX_CHECK_TIMEOUT_MS = 60_000;
