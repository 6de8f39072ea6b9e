// Starting a lesson in a sandbox: its assets copied in, the environment that
// points at them, then its setup.sh run as root. Resetting a lesson is a fresh
// sandbox (same id) set up again.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { SandboxManager } from '../sandbox/manager.js';
import { scriptArgv, type ScriptExecutor, lastLine } from './runner.js';

/** Where a lesson's assets are inside the sandbox ($LESSON_ASSETS). */
export const LESSON_ASSETS_DIR = '/opt/boxlab/lesson/assets';
export const DEFAULT_SETUP_TIMEOUT_MS = 60_000;
const MAX_ASSETS_TAR_BYTES = 80 * 1024 * 1024;

/** The environment of setup, check and hint scripts, and of the learner's shells. */
export function lessonEnv(): Record<string, string> {
  return { LESSON_ASSETS: LESSON_ASSETS_DIR };
}

/** A lesson as far as starting it goes (the labs model's Lesson has this shape). */
export interface LessonRuntime {
  id: string;
  setup?: { text: string };
  assetsDir?: string;
}

export interface SetupOptions {
  /** The helper library, sourced before setup.sh as before checks. */
  library?: string;
  timeoutMs?: number;
  onProgress?: (step: 'assets' | 'setup' | 'ready') => void;
}

export interface SetupReport {
  assetsMs: number;
  setupMs: number;
  /** What setup.sh printed. */
  output: string;
}

/** The lesson could not be started; the message says why, for the learner and the author. */
export class LessonSetupError extends Error {
  constructor(message: string, readonly output = '') {
    super(message);
    this.name = 'LessonSetupError';
  }
}

export async function startLesson(sandboxes: ScriptExecutor, sandboxId: string, lesson: LessonRuntime, options: SetupOptions = {}): Promise<SetupReport> {
  options.onProgress?.('assets');
  let started = performance.now();
  const tar = lesson.assetsDir ? await packAssets(lesson.assetsDir) : undefined;
  // login shells (the learner's terminals) find the assets too
  const profile = `export LESSON_ASSETS=${LESSON_ASSETS_DIR}\n`;
  const install = await sandboxes.exec(sandboxId, ['sh', '-c', `set -e; mkdir -p "${LESSON_ASSETS_DIR}"; printf '%s' "$1" > /etc/profile.d/boxlab-lesson.sh; ${tar ? `tar -x -f - -C "${LESSON_ASSETS_DIR}"` : 'true'}`, 'install', profile], {
    ...(tar ? { input: tar } : {}),
    timeoutMs: 30_000,
  });
  if (install.exitCode !== 0) throw new LessonSetupError(`could not copy the assets of ${lesson.id} into the sandbox: ${lastLine(install.stderr) || `exit status ${install.exitCode}`}`, install.stderr);
  const assetsMs = performance.now() - started;

  let output = '';
  started = performance.now();
  if (lesson.setup) {
    options.onProgress?.('setup');
    const timeoutMs = options.timeoutMs ?? DEFAULT_SETUP_TIMEOUT_MS;
    const r = await sandboxes.exec(sandboxId, scriptArgv(options.library ?? '', lesson.setup.text), { timeoutMs, env: lessonEnv(), cwd: '/root', maxOutputBytes: 256 * 1024 });
    output = r.stdout;
    if (r.timedOut) throw new LessonSetupError(`setup.sh of ${lesson.id} did not finish within ${timeoutMs / 1000} s`, output);
    if (r.exitCode !== 0) throw new LessonSetupError(`setup.sh of ${lesson.id} failed (exit status ${r.exitCode}): ${lastLine(output) || 'no output'}`, output);
  }
  options.onProgress?.('ready');
  return { assetsMs: Math.round(assetsMs), setupMs: Math.round(performance.now() - started), output };
}

/** Back to the lesson's start: a clean sandbox (same id), set up again. Progress is kept elsewhere. */
export async function resetLesson(sandboxes: Pick<SandboxManager, 'reset'> & ScriptExecutor, sandboxId: string, lesson: LessonRuntime, options: SetupOptions = {}): Promise<SetupReport> {
  await sandboxes.reset(sandboxId);
  return startLesson(sandboxes, sandboxId, lesson, options);
}

/** The assets folder as a tar archive, owned by root. */
async function packAssets(dir: string): Promise<Buffer> {
  try {
    const { stdout } = await promisify(execFile)('tar', ['-C', dir, '--owner=0', '--group=0', '--numeric-owner', '-cf', '-', '.'], { encoding: 'buffer', maxBuffer: MAX_ASSETS_TAR_BYTES });
    return stdout;
  } catch (err) {
    throw new LessonSetupError(`could not pack ${dir}: ${(err as Error).message}`);
  }
}
