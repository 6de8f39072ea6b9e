// Which lessons an authoring command is about: `01-namespaces`,
// `01-namespaces/uts`, `labs/01-namespaces`, `labs/01-namespaces/lesson.md`
// or nothing (every lesson of the labs folder).
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';
import { LESSON_ID } from '../contracts/lessons.js';

export interface Selection {
  /** The labs folder holding the lessons. */
  labsDir: string;
  /** Lesson ids; empty: all of them. */
  lessons: Array<{ id: string; exerciseId?: string }>;
}

/** A command line that cannot be followed; exits with status 2. */
export class UsageError extends Error {}

/** The labs folder: --labs, else ./labs when there is one, else the one boxlab ships. */
export function defaultLabsDir(flag?: string): string {
  if (flag) return path.resolve(flag);
  if (existsSync('labs')) return path.resolve('labs');
  return path.join(PACKAGE_ROOT, 'labs');
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();
/** A path to a lesson folder (a bare name counts only when it holds a lesson.md). */
const isLessonDir = (p: string) => isDir(p) && (p.includes('/') || existsSync(path.join(p, 'lesson.md')));

export function selectLessons(args: string[], labsFlag?: string): Selection {
  const dirs = new Set<string>();
  const lessons: Selection['lessons'] = [];
  for (const arg of args) {
    const clean = arg.replace(/\/lesson\.md$/, '').replace(/\/+$/, '');
    let lessonDir: string | undefined;
    let exerciseId: string | undefined;
    if (isLessonDir(clean)) {
      lessonDir = clean;
    } else if (clean.includes('/') && isLessonDir(path.dirname(clean))) {
      lessonDir = path.dirname(clean);
      exerciseId = path.basename(clean);
    }
    if (lessonDir) {
      dirs.add(path.resolve(lessonDir, '..'));
      lessons.push({ id: path.basename(path.resolve(lessonDir)), ...(exerciseId ? { exerciseId } : {}) });
      continue;
    }
    const [id, exercise, ...rest] = clean.split('/');
    if (!id || !LESSON_ID.test(id) || rest.length || exercise === '') throw new UsageError(`"${arg}" is neither a lesson folder nor a lesson id (e.g. 01-namespaces or 01-namespaces/uts)`);
    lessons.push({ id, ...(exercise ? { exerciseId: exercise } : {}) });
  }
  if (dirs.size > 1) throw new UsageError(`the lessons given live in different labs folders (${[...dirs].join(', ')}): name lessons of one at a time`);
  const labsDir = dirs.size ? [...dirs][0]! : defaultLabsDir(labsFlag);
  if (labsFlag && dirs.size && path.resolve(labsFlag) !== labsDir) throw new UsageError(`--labs ${labsFlag} disagrees with the lesson folders given (${labsDir})`);
  return { labsDir, lessons };
}
