// Loads the labs folder: every lesson folder, the check helper library, and
// every problem found on the way. A broken lesson is reported and skipped;
// loading never throws because of what a lesson contains.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ANSWERS_FILE, parseAnswers } from './answers.js';
import type { Lesson, LoadIssue, Script } from './model.js';
import { parseLesson } from './parse.js';
import { LESSON_ID } from '../contracts/lessons.js';

export const LESSON_FILE = 'lesson.md';
export const SETUP_FILE = 'setup.sh';
export const ASSETS_DIR = 'assets';
/** The helper library sourced before every check, hint and setup script. */
export const LIBRARY_FILE = path.join('_lib', 'check.sh');

const MAX_TEXT_BYTES = 1024 * 1024;
const MAX_ASSETS_BYTES = 64 * 1024 * 1024;

export interface LabsCatalog {
  dir: string;
  /** _lib/check.sh, when the labs folder has one. */
  library?: Script;
  /** Lessons that loaded, sorted by `order`, then id. */
  lessons: Lesson[];
  /** Ids of lesson folders that are broken and were skipped. */
  skipped: string[];
  issues: LoadIssue[];
}

export interface LoadOptions {
  /** Load only these lesson ids (folder names). */
  only?: string[];
}

export async function loadLabs(dir: string, options: LoadOptions = {}): Promise<LabsCatalog> {
  const root = path.resolve(dir);
  const catalog: LabsCatalog = { dir: root, lessons: [], skipped: [], issues: [] };
  let entries: string[];
  try {
    entries = (await fs.readdir(root)).sort();
  } catch (err) {
    catalog.issues.push({ severity: 'error', file: root, message: `cannot read the labs folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): name lesson folders, or the labs folder with --labs` });
    return catalog;
  }

  const libraryFile = path.join(root, LIBRARY_FILE);
  const library = await readText(libraryFile, catalog.issues, { optional: true });
  if (library !== undefined) catalog.library = { text: library, file: libraryFile, line: 1 };
  else if (!catalog.issues.some((i) => i.file === libraryFile)) {
    catalog.issues.push({ severity: 'warning', file: libraryFile, message: 'missing: checks run without the helper library' });
  }

  for (const name of entries) {
    if (name.startsWith('_') || name.startsWith('.')) continue;
    if (options.only && !options.only.includes(name)) continue;
    const lessonDir = path.join(root, name);
    if (!(await fs.stat(lessonDir).catch(() => undefined))?.isDirectory()) continue;
    const { lesson, issues } = await loadLesson(lessonDir);
    catalog.issues.push(...issues);
    if (lesson) catalog.lessons.push(lesson);
    else catalog.skipped.push(name);
  }
  for (const id of options.only ?? []) {
    if (!entries.includes(id)) catalog.issues.push({ severity: 'error', file: path.join(root, id), message: 'no such lesson folder' });
  }

  catalog.lessons.sort((a, b) => a.order - b.order || a.id.localeCompare(b.id));
  for (let i = 1; i < catalog.lessons.length; i++) {
    const [a, b] = [catalog.lessons[i - 1]!, catalog.lessons[i]!];
    if (a.order === b.order) catalog.issues.push({ severity: 'warning', file: b.file, line: 2, message: `order ${b.order} is also the order of ${a.id}` });
  }
  return catalog;
}

/** Loads one lesson folder; `lesson` is absent when it has errors. */
export async function loadLesson(lessonDir: string): Promise<{ lesson?: Lesson; issues: LoadIssue[] }> {
  const dir = path.resolve(lessonDir);
  const id = path.basename(dir);
  const file = path.join(dir, LESSON_FILE);
  const issues: LoadIssue[] = [];
  try {
    if (!LESSON_ID.test(id)) {
      issues.push({ severity: 'error', file: dir, message: `"${id}" is not a lesson id: name lesson folders with lowercase letters, digits and dashes (e.g. 07-seccomp)` });
      return { issues };
    }
    const text = await readText(file, issues, { optional: false });
    const setupFile = path.join(dir, SETUP_FILE);
    const setup = await readText(setupFile, issues, { optional: true });
    const answersFile = path.join(dir, ANSWERS_FILE);
    const answers = await readText(answersFile, issues, { optional: true });
    const assets = await listAssets(path.join(dir, ASSETS_DIR), issues);
    if (text === undefined || issues.some((i) => i.severity === 'error')) return { issues };
    const parsed = parseLesson({
      id,
      dir,
      file,
      text,
      ...(setup !== undefined ? { setup: { text: setup, file: setupFile, line: 1 } } : {}),
      ...(assets ? { assetsDir: path.join(dir, ASSETS_DIR) } : {}),
      hasAsset: (relative) => assets?.has(relative) ?? false,
    });
    issues.push(...parsed.issues);
    if (parsed.lesson && answers !== undefined) issues.push(...parseAnswers(answers, answersFile, parsed.lesson.exercises));
    if (!parsed.lesson || issues.some((i) => i.severity === 'error')) return { issues };
    return { lesson: parsed.lesson, issues };
  } catch (err) {
    // a bug of ours must not take the catalogue down with it either
    issues.push({ severity: 'error', file, message: `could not be loaded: ${(err as Error).message}` });
    return { issues };
  }
}

async function readText(file: string, issues: LoadIssue[], { optional }: { optional: boolean }): Promise<string | undefined> {
  const stat = await fs.lstat(file).catch(() => undefined);
  if (!stat) {
    if (!optional) issues.push({ severity: 'error', file, message: 'missing' });
    return undefined;
  }
  if (!stat.isFile()) {
    issues.push({ severity: 'error', file, message: 'must be a regular file (not a symlink or folder)' });
    return undefined;
  }
  if (stat.size > MAX_TEXT_BYTES) {
    issues.push({ severity: 'error', file, message: `is ${stat.size} bytes; at most ${MAX_TEXT_BYTES} are read` });
    return undefined;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(await fs.readFile(file));
  } catch {
    issues.push({ severity: 'error', file, message: 'is not valid UTF-8' });
    return undefined;
  }
}

/** The files under assets/ (relative paths), or undefined when there is no assets folder. */
async function listAssets(dir: string, issues: LoadIssue[]): Promise<Set<string> | undefined> {
  const stat = await fs.lstat(dir).catch(() => undefined);
  if (!stat) return undefined;
  if (!stat.isDirectory()) {
    issues.push({ severity: 'error', file: dir, message: 'must be a folder' });
    return undefined;
  }
  const files = new Set<string>();
  let total = 0;
  const walk = async (sub: string): Promise<void> => {
    for (const entry of await fs.readdir(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(rel);
      else if (entry.isFile()) {
        files.add(rel);
        total += (await fs.stat(path.join(dir, rel))).size;
      } else {
        // a symlink could point anywhere on the host once assets are served or copied
        issues.push({ severity: 'error', file: path.join(dir, rel), message: 'assets may hold only files and folders (no symlinks or devices)' });
      }
    }
  };
  await walk('');
  if (total > MAX_ASSETS_BYTES) issues.push({ severity: 'error', file: dir, message: `holds ${total} bytes; at most ${MAX_ASSETS_BYTES} are allowed` });
  return files;
}
